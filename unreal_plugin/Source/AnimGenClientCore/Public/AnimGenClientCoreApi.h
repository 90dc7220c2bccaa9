// What the client core exports. Inside Unreal the module is a library of its own, and UnrealBuildTool defines
// ANIMGENCLIENTCORE_API as its export/import attribute: a declaration without it cannot be linked from the Editor
// module. The CMake build defines it the same way (symbols hidden unless marked), so a missing mark fails there too.
#pragma once

#ifndef ANIMGENCLIENTCORE_API
#define ANIMGENCLIENTCORE_API
#endif
