// The portable client core (plain C++17, no Unreal types) compiled as an Unreal module. The same sources
// build outside the engine with CMakeLists.txt, where they are unit-tested against a live server.
using System.IO;
using UnrealBuildTool;

public class AnimGenClientCore : ModuleRules
{
	public AnimGenClientCore(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.NoPCHs;
		// C++17 up to 5.4; from 5.5 the engine's default, C++20 (later engines refuse Cpp17), which the sources build as too.
#if !UE_5_5_OR_LATER
		CppStandard = CppStandardVersion.Cpp17;
#endif
		bUseUnity = false;  // the generated .pb.cc files and our sources compile one by one

		PublicIncludePaths.Add(Path.Combine(ModuleDirectory, "Public"));
		PrivateIncludePaths.Add(Path.Combine(ModuleDirectory, "Private"));
		PrivateIncludePaths.Add(Path.Combine(ModuleDirectory, "Generated"));

		// ProtoIncludes.h wraps the gRPC / protobuf headers in the engine's third-party guards.
		PrivateDefinitions.Add("ANIMGEN_IN_UNREAL=1");

		PublicDependencyModuleNames.Add("Core");
		PrivateDependencyModuleNames.Add("GrpcLibraries");

		// Generated and third-party code: quieter warnings than the engine's defaults. 5.5 replaced
		// bEnableUndefinedIdentifierWarnings with UndefinedIdentifierWarningLevel; 5.6 moved both into CppCompileWarningSettings.
#if UE_5_6_OR_LATER
		CppCompileWarningSettings.ShadowVariableWarningLevel = WarningLevel.Off;
		CppCompileWarningSettings.UndefinedIdentifierWarningLevel = WarningLevel.Off;
#elif UE_5_5_OR_LATER
		ShadowVariableWarningLevel = WarningLevel.Off;
		UndefinedIdentifierWarningLevel = WarningLevel.Off;
#else
		ShadowVariableWarningLevel = WarningLevel.Off;
		bEnableUndefinedIdentifierWarnings = false;
#endif
		bEnableExceptions = false;
	}
}
