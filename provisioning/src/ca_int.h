/* ca_int.h - the CA object, shared by ca.c (create/open/issue) and crl.c. */
#ifndef PROV_CA_INT_H
#define PROV_CA_INT_H

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "prov/ca.h"
#include "prov_int.h"

struct prov_ca {
  mbedtls_pk_context key;   /* the CA's private key */
  mbedtls_x509_crt crt;     /* its certificate, parsed */
  proto_buf pem;            /* its certificate, PEM */
  char subject[PROV_CA_NAME_MAX + 8];  /* "CN=<name>", the issuer of everything issued */
  prov__rng rng;
};

#endif
