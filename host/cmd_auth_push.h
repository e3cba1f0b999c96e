/* vsrun auth push NAME --to postgresql://...: moves a connection from the file vault into
 * the shared PostgreSQL vault that replicas read through VSRUN_VAULT (host/vault_pg.h). */
#ifndef VSRUN_CMD_AUTH_PUSH_H
#define VSRUN_CMD_AUTH_PUSH_H

int cmd_auth_push(int argc, char **argv);

#endif
