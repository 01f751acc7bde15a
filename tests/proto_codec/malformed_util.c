/* malformed_util.c - see malformed_util.h. */
#include "malformed_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec_gen.h"

#define ENV_FMT                                                                          \
  "{\"v\":1,\"origin\":\"store-001\",\"seq\":42,\"hlc\":\"115292150460684697\","         \
  "\"store\":\"store-001\",\"type\":\"%s\",\"body\":%s}"


const char dispatched_body[] =
    "{\"order_id\":\"o-1\",\"kind\":\"delivery\",\"items\":[{\"sku\":\"latte\",\"name\":\"生椰拿铁\","
    "\"qty\":2,\"price\":1900},{\"sku\":\"bagel\",\"qty\":1,\"price\":0}],\"pickup_code\":\"4821\","
    "\"customer\":\"王先生\",\"phone_tail\":\"4321\",\"note\":\"少冰\",\"total\":3800,"
    "\"placed_ms\":1795400000000}";
const base step_base = {"{\"order_id\":\"o-1\",\"by\":\"staff-7\"}", "order_id", "by"};

base base_of(proto_event_type t) {
  switch (t) {
    case PROTO_EV_ORDER_DISPATCHED:
      return (base){dispatched_body, "order_id kind items pickup_code total placed_ms",
                    "customer phone_tail note"};
    case PROTO_EV_ORDER_REJECTED:
      return (base){"{\"order_id\":\"o-1\",\"reason\":\"busy\",\"by\":\"s-1\"}", "order_id reason", "by"};
    case PROTO_EV_ORDER_SHIPPED:
      return (base){"{\"order_id\":\"o-1\",\"courier\":\"顺丰\",\"tracking\":\"SF123\"}",
                    "order_id courier tracking", ""};
    case PROTO_EV_ORDER_CANCELLED:
      return (base){"{\"order_id\":\"o-1\",\"by\":\"customer\",\"reason\":\"不要了\"}", "order_id by",
                    "reason"};
    case PROTO_EV_ORDER_REMINDED:
      return (base){"{\"order_id\":\"o-1\",\"n\":1,\"note\":\"快点\"}", "order_id n", "note"};
    case PROTO_EV_ORDER_ITEM_UNAVAILABLE:
      return (base){"{\"order_id\":\"o-1\",\"sku\":\"latte\"}", "order_id sku", ""};
    case PROTO_EV_ORDER_RESOLVED:
      return (base){"{\"order_id\":\"o-1\",\"resolution\":\"refund\",\"note\":\"已退款\"}",
                    "order_id resolution", "note"};
    case PROTO_EV_RIDER_ASSIGNED:
      return (base){"{\"order_id\":\"o-1\",\"name\":\"张师傅\",\"phone_tail\":\"8899\","
                    "\"eta_ms\":1795400400000}",
                    "order_id name eta_ms", "phone_tail"};
    case PROTO_EV_STOCK_DELTA:
      return (base){"{\"sku\":\"latte\",\"delta\":-2,\"reason\":\"sale\",\"ref\":\"o-1\","
                    "\"peer\":\"store-002\",\"note\":\"卖出\"}",
                    "sku delta reason", "ref peer note"};
    case PROTO_EV_STOCK_STOCKTAKE:
      return (base){"{\"sku\":\"latte\",\"counted\":37,\"seen\":{\"store-001\":41,\"hq\":7}}",
                    "sku counted seen", ""};
    case PROTO_EV_SKU_AVAILABILITY:
      return (base){"{\"sku\":\"latte\",\"sold_out\":true,\"automatic\":false}",
                    "sku sold_out automatic", ""};
    case PROTO_EV_CATALOG_ENTRY:
      return (base){"{\"sku\":\"latte\",\"name\":\"生椰拿铁\",\"name_en\":\"Coconut latte\","
                    "\"price\":1900,\"low_threshold\":10,\"active\":true}",
                    "sku name price low_threshold active", "name_en"};
    case PROTO_EV_STORE_SETTINGS:
      return (base){"{\"name\":\"一号店\",\"paused\":false,\"radius_m\":3000}", "", ""};
    default:
      return step_base;
  }
}

char *envelope(proto_event_type t, const char *body) {
  size_t cap = strlen(body) + 256;
  char *s = malloc(cap);
  snprintf(s, cap, ENV_FMT, proto_event_type_name(t), body);
  return s;
}

/* Decode exactly len bytes from a heap copy of that size (no NUL after it,
 * so ASan sees any over-read). */
int decode_n(const char *json, size_t len, proto_event *ev, proto_err *err) {
  char *copy = malloc(len ? len : 1);
  memcpy(copy, json, len);
  proto_err_clear(err);
  int rc = proto_event_decode(copy, len, ev, err);
  free(copy);
  return rc;
}

void expect_n(const char *json, size_t len, int code, const char *needle) {
  proto_event ev;
  proto_err err;
  int rc = decode_n(json, len, &ev, &err);
  if (rc != code || (needle && !strstr(err.msg, needle))) {
    print_error("input: %.*s\n got %s \"%s\"\nwant %s \"%s\"\n", (int)(len > 400 ? 400 : len), json,
                proto_err_name(rc), err.msg, proto_err_name(code), needle ? needle : "");
    fail();
  }
  if (code != PROTO_OK) assert_true(err.msg[0] != '\0');
}

void expect(const char *json, int code, const char *needle) {
  expect_n(json, strlen(json), code, needle);
}

/* Envelope around body with key's value replaced (val) or removed (NULL). */
void expect_edit(proto_event_type t, const char *body, const char *key, const char *val,
                        int code, const char *needle) {
  char *json = envelope(t, body);
  size_t cap = strlen(json) + (val ? strlen(val) : 0) + 1;
  char *edited = malloc(cap);
  if (!json_edit(json, key, val, edited, cap)) {
    print_error("no key %s in %s\n", key, json);
    fail();
  }
  expect(edited, code, needle);
  free(edited);
  free(json);
}

/* Call fn for each space-separated word of list. */
void each_word(const char *list, void (*fn)(proto_event_type, const char *), proto_event_type t) {
  char w[64];
  while (*list) {
    size_t n = strcspn(list, " ");
    snprintf(w, sizeof w, "%.*s", (int)n, list);
    if (n) fn(t, w);
    list += n + (list[n] == ' ');
  }
}


void expect_body(proto_event_type t, const char *body, int code, const char *needle) {
  char *json = envelope(t, body);
  expect(json, code, needle);
  free(json);
}
