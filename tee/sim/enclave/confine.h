/* The sim TA's confinement from inside (tee/sim/enclave/confine.c,
 * docs/confinement.md): talos_tee_enclave.confine of the sim backend. */
#ifndef TALOS_TEE_SIM_CONFINE_H
#define TALOS_TEE_SIM_CONFINE_H

/* Keep the /proc/self files the runtime needs open, read the time zone,
 * stop being dumpable, install the SIGSYS reporter and load the system
 * call allowlist. TALOS_OK, or TALOS_ERR_BACKEND / TALOS_ERR_STATE (logged):
 * the TA must not run. */
int talos_sim_confine(void);

#endif
