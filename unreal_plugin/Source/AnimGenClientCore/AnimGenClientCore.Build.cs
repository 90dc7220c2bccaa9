// The portable client core (plain C++17, no Unreal types) compiled as an Unreal module. The same sources
// build outside the engine with CMakeLists.txt, where they are unit-tested against a live server.
using System.IO;
using UnrealBuildTool;

public class AnimGenClientCore : ModuleRules
{
	public AnimGenClientCore(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.NoPCHs;
		CppStandard = CppStandardVersion.Cpp17;
		bUseUnity = false;  // the generated .pb.cc files and our sources compile one by one

		PublicIncludePaths.Add(Path.Combine(ModuleDirectory, "Public"));
		PrivateIncludePaths.Add(Path.Combine(ModuleDirectory, "Private"));
		PrivateIncludePaths.Add(Path.Combine(ModuleDirectory, "Generated"));

		// ProtoIncludes.h wraps the gRPC / protobuf headers in the engine's third-party guards.
		PrivateDefinitions.Add("ANIMGEN_IN_UNREAL=1");

		PublicDependencyModuleNames.Add("Core");
		PrivateDependencyModuleNames.Add("GrpcLibraries");

		// Generated and third-party code: quieter warnings than the engine's defaults.
		ShadowVariableWarningLevel = WarningLevel.Off;
		UndefinedIdentifierWarningLevel = WarningLevel.Off;
		bEnableExceptions = false;
	}
}
