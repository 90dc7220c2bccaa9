// The Unreal module wrapper of the client core (compiled by Unreal's build tool only; CMake lists its own sources).
#include "Modules/ModuleManager.h"

IMPLEMENT_MODULE(FDefaultModuleImpl, AnimGenClientCore);
