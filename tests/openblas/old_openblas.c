/* A test fixture standing for an OpenBLAS older than 0.3.27: it exports what
 * such a build exports for identification (openblas_get_config and
 * openblas_get_num_threads) and, like it, no openblas_set_threads_callback_function.
 * test_openblas loads it to check TE_ERR_UNSUPPORTED, and that an old build
 * next to a new one is left alone. */
char *openblas_get_config(void);
int openblas_get_num_threads(void);

char *openblas_get_config(void) {
  static char config[] = "OpenBLAS 0.3.20 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=8";
  return config;
}

int openblas_get_num_threads(void) { return 1; }
