# Libraries the sim enclave side adds to a TA image (the Makefile's TA link).
# libseccomp: confine.c loads the TA's system call allowlist with it; static
# like the rest of a TA image (Debian ships libseccomp.a in libseccomp-dev).
TEE_ENCLAVE_LIBS += -lseccomp
