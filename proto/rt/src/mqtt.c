#include "rt/mqtt.h"
