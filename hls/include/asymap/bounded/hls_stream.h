// asymap: stand-in for <hls_stream.h> in the bounded dataflow simulation only. This directory is
// put on the include path (-Iinclude/asymap/bounded) ahead of the ap_types headers, so every
// `#include <hls_stream.h>` gets the bounded, thread-safe stream of asymap/bounded_stream.h.
#ifndef ASYMAP_BOUNDED_SIM
#error "include/asymap/bounded is for the bounded dataflow simulation: compile with -DASYMAP_BOUNDED_SIM"
#endif
#include "asymap/bounded_stream.h"
