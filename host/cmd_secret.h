/* vsrun secret set|list|delete: named secrets for other services (an LLM API key, a Slack
 * webhook URL), each bound to one origin; scripts name them in http's auth. */
#ifndef VSRUN_CMD_SECRET_H
#define VSRUN_CMD_SECRET_H

int cmd_secret(int argc, char **argv);

#endif
