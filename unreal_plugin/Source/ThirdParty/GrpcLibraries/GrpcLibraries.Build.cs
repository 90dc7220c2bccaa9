// gRPC C++ and protobuf as an external (prebuilt) module, the way Unreal gRPC plugins ship them.
//
// Nothing is committed here: build the libraries for each platform (README.md, "gRPC libraries") and copy
// them into this folder:
//   GrpcLibraries/include/                      grpc, grpcpp, google/protobuf, absl, ... headers
//   GrpcLibraries/lib/Win64/*.lib               static libraries (MSVC, /MD release runtime)
//   GrpcLibraries/lib/Linux/*.a                 static libraries built with the engine's clang toolchain and libc++
//   GrpcLibraries/lib/Mac/*.a                   static libraries (universal or arm64 + x64)
//   GrpcLibraries/bin/<Platform>/protoc, grpc_cpp_plugin   the generators of the same version (optional)
// The protobuf version must be the one the committed Generated/ code was made with (3.21.x; see README), or
// regenerate Generated/ with this version's protoc.
using System;
using System.IO;
using UnrealBuildTool;

public class GrpcLibraries : ModuleRules
{
	public GrpcLibraries(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;

		string IncludeDir = Path.Combine(ModuleDirectory, "include");
		string LibDir = Path.Combine(ModuleDirectory, "lib", Target.Platform.ToString());
		PublicSystemIncludePaths.Add(IncludeDir);

		// protobuf without RTTI (the engine builds with RTTI off); gRPC without exceptions.
		PublicDefinitions.Add("GOOGLE_PROTOBUF_NO_RTTI=1");
		PublicDefinitions.Add("GOOGLE_PROTOBUF_INTERNAL_DONATE_STEAL_INLINE=0");
		PublicDefinitions.Add("GRPC_ALLOW_EXCEPTIONS=0");
		PublicDefinitions.Add("GPR_FORBID_UNREACHABLE_CODE=0");
		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			// No _WIN32_WINNT: UBT sets it (0x0601 on 5.3, 0x0A00 by 5.8), above gRPC's 0x0600; ours redefined it (C4005).
			PublicSystemLibraries.AddRange(new string[] { "ws2_32.lib", "crypt32.lib", "iphlpapi.lib", "bcrypt.lib", "dbghelp.lib" });
		}

		if (!Directory.Exists(LibDir))
		{
			// Fail at build time with the fix, not with a thousand unresolved symbols.
			throw new BuildException(
				"AnimGen: no gRPC libraries for {0} in {1}. Build them (see unreal_plugin/README.md, \"gRPC libraries\") and copy the headers to {2}.",
				Target.Platform, LibDir, IncludeDir);
		}

		// Every library of a full gRPC install but the alternatives of ones linked already, which define the same
		// symbols (duplicate-symbol link errors): the *_unsecure builds of grpc and grpc++, protobuf-lite, protoc's
		// own library, and zlib (the engine's is linked below; zlib.lib on Windows, libz.a on Linux and Mac).
		string[] Skip = { "_unsecure", "protobuf-lite", "protoc", "zlib", "libz." };
		string Pattern = Target.Platform == UnrealTargetPlatform.Win64 ? "*.lib" : "*.a";
		foreach (string Lib in Directory.GetFiles(LibDir, Pattern))
		{
			string Name = Path.GetFileName(Lib).ToLowerInvariant();
			if (!Array.Exists(Skip, S => Name.Contains(S)))
			{
				PublicAdditionalLibraries.Add(Lib);
			}
		}

		// gRPC's TLS: the engine's OpenSSL when the libraries were built against it (vcpkg builds bring their own
		// libssl/libcrypto into lib/<Platform>, which then come in through the loop above instead).
		if (!File.Exists(Path.Combine(LibDir, Target.Platform == UnrealTargetPlatform.Win64 ? "libssl.lib" : "libssl.a")))
		{
			AddEngineThirdPartyPrivateStaticDependencies(Target, "OpenSSL");
		}
		AddEngineThirdPartyPrivateStaticDependencies(Target, "zlib");
	}
}
