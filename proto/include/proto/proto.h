/* proto/proto.h - umbrella header of the proto library. */
#ifndef PROTO_PROTO_H
#define PROTO_PROTO_H

#include "proto/error.h"
#include "proto/buf.h"
#include "proto/hlc.h"
#include "proto/event.h"
#include "proto/vv.h"
#include "proto/codec.h"
#include "proto/order.h"
#include "proto/stock.h"
#include "proto/sku.h"
#include "proto/settings.h"

#endif
