/* Bench baseline: a program that loads the same shared libraries as vsrun and does nothing,
 * to separate the dynamic loader's cost from vsrun's own start-up work. */
#include <curl/curl.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

int main(int argc, char **argv) {
    (void)argv;
    if (argc > 99) { /* referenced, never called: keeps the libraries linked */
        curl_version();
        OpenSSL_version(0);
        MHD_get_version();
    }
    return 0;
}
