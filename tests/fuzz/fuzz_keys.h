/* A fixed sim CA and platform identity for the fuzz harnesses and the seed
 * generator of the sim formats (tee/sim/tests/), made once with
 * tee/sim/host/ca.c. Fixed so that the committed evidence seeds
 * chain to the anchor and verify in full; test keys, protecting nothing.
 * Valid until 2036-11-18 (the certificates' notAfter): after that the seeds
 * stop at the chain check and `make fuzz-seeds` with new keys is due. */
#ifndef TALOS_TESTS_FUZZ_KEYS_H
#define TALOS_TESTS_FUZZ_KEYS_H

#include <stdint.h>

#include "talos/abi.h" /* TALOS_MIG_KEY_BYTES */

static const char fuzz_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdjCCASigAwIBAgIQft3ccBwQB3F+03SQxm65mTAFBgMrZXAwOzE5MDcGA1UE\n"
    "AwwwVEFMT1Mgc2ltIENBIChzaW11bGF0aW9uOiBubyBoYXJkd2FyZSBpc29sYXRp\n"
    "b24pMB4XDTI2MTEyMTA1NDA1M1oXDTM2MTExODA2NDA1M1owOzE5MDcGA1UEAwww\n"
    "VEFMT1Mgc2ltIENBIChzaW11bGF0aW9uOiBubyBoYXJkd2FyZSBpc29sYXRpb24p\n"
    "MCowBQYDK2VwAyEALnuLJj2ZWG8mDQ+I6PLuxPfC6JBuov97R3/FJ9R8wNmjQjBA\n"
    "MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBTMWCAX\n"
    "V245kJVWnNDy5ep91L4HlzAFBgMrZXADQQCh+gYJy/papndDlXp8kbs7kRn2M0kx\n"
    "hohZ7tOBtbY/3MdfYWgZUlddz4Fuy07+XKXZx/zSDvW/pHlKeQqUSqkD\n"
    "-----END CERTIFICATE-----\n";

static const char fuzz_platform_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBhzCCATmgAwIBAgIQSxxxeqBnzcNTkqAibq6tpzAFBgMrZXAwOzE5MDcGA1UE\n"
    "AwwwVEFMT1Mgc2ltIENBIChzaW11bGF0aW9uOiBubyBoYXJkd2FyZSBpc29sYXRp\n"
    "b24pMB4XDTI2MTEyMTA1NDA1M1oXDTM2MTExODA2NDA1M1owLjEsMCoGA1UEAwwj\n"
    "dGFsb3Mgc2ltIHBsYXRmb3JtIGEzYmIyODQ5YmJhMWM1MjcwKjAFBgMrZXADIQD1\n"
    "uaHGjwf1yJBYL5UXOOMw+UTYdo670KEwhLNE2ZjeG6NgMF4wDAYDVR0TAQH/BAIw\n"
    "ADAOBgNVHQ8BAf8EBAMCB4AwHQYDVR0OBBYEFGkSX8eeGbVMo9/DkBDcJzk5B4rL\n"
    "MB8GA1UdIwQYMBaAFMxYIBdXbjmQlVac0PLl6n3UvgeXMAUGAytlcANBALjVe6EL\n"
    "1+e8xV9ZZCfjZnjxhaVb9NeyR6kVJZI0K+xoPNCiS14xFIJb2zWZ4YFrVQq7d0wx\n"
    "xmdKipn5TtR9OAU=\n"
    "-----END CERTIFICATE-----\n";

static const char fuzz_platform_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIEhWSgljCWsDSRE19I4sDUBUs+bXJWDoJJodJbPmAJbl\n"
    "-----END PRIVATE KEY-----\n";

/* The HMAC key under which fuzz_mig_records opens tokens. */
static const uint8_t fuzz_token_key[TALOS_MIG_KEY_BYTES] = "talos-fuzz-token-key-0123456789";

#endif
