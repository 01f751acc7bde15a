#include "proto_int.h"
