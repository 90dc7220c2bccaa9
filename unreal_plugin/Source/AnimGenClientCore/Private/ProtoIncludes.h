// The generated protobuf / gRPC headers, private to the core. Inside Unreal they need the engine's
// third-party include guards (macros such as `check` and `verify` clash with protobuf's); outside they
// are plain includes.
#pragma once

// AnimGenClientCore.Build.cs defines ANIMGEN_IN_UNREAL=1; the CMake build leaves it undefined.
#if defined(ANIMGEN_IN_UNREAL) && ANIMGEN_IN_UNREAL
#include "CoreMinimal.h"
THIRD_PARTY_INCLUDES_START
#pragma push_macro("check")
#pragma push_macro("verify")
#undef check
#undef verify
#endif

#include <grpcpp/grpcpp.h>

#include "animgen/v1/service.grpc.pb.h"
#include "animgen/v1/service.pb.h"

#if defined(ANIMGEN_IN_UNREAL) && ANIMGEN_IN_UNREAL
#pragma pop_macro("verify")
#pragma pop_macro("check")
THIRD_PARTY_INCLUDES_END
#endif
