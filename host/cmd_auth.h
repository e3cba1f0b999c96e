/* vsrun auth: manage PagerDuty connections (login, status, list, logout, reconnect, default). */
#ifndef VSRUN_CMD_AUTH_H
#define VSRUN_CMD_AUTH_H

int cmd_auth(int argc, char **argv);

#endif
