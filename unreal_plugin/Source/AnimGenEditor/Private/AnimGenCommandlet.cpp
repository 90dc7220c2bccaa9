#include "AnimGenCommandlet.h"

#include "Animation/AnimSequence.h"
#include "Animation/Skeleton.h"
#include "AnimGenAnimationBuilder.h"
#include "AnimGenClient.h"
#include "AnimGenJobRunner.h"
#include "HAL/FileManager.h"
#include "Misc/Parse.h"
#include "Misc/Paths.h"
#include "VideoFiles.h"

DEFINE_LOG_CATEGORY_STATIC(LogAnimGen, Log, All);

UAnimGenCommandlet::UAnimGenCommandlet()
{
	IsClient = false;
	IsServer = false;
	IsEditor = true;
	LogToConsole = true;
	ShowErrorCount = true;
	HelpDescription = TEXT("Turns every video in -Input into an AnimSequence on -Skeleton under -Output, through an AnimGen server.");
	HelpUsage = TEXT("-run=AnimGen -Input=DIR -Output=/Game/Path -Skeleton=/Game/.../Skeleton -Server=host:port");
}

int32 UAnimGenCommandlet::Main(const FString& Params)
{
	FString Input, Output, SkeletonPath, Server = TEXT("127.0.0.1:50051"), Token, TlsCa, Mapping = TEXT("auto"),
		Generator, FilesDir;
	FParse::Value(*Params, TEXT("Input="), Input);
	FParse::Value(*Params, TEXT("Output="), Output);
	FParse::Value(*Params, TEXT("Skeleton="), SkeletonPath);
	FParse::Value(*Params, TEXT("Server="), Server);
	FParse::Value(*Params, TEXT("Token="), Token);
	FParse::Value(*Params, TEXT("TlsCa="), TlsCa);
	FParse::Value(*Params, TEXT("Mapping="), Mapping);
	FParse::Value(*Params, TEXT("Generator="), Generator);
	FParse::Value(*Params, TEXT("Files="), FilesDir);
	if (Token.IsEmpty()) Token = FPlatformMisc::GetEnvironmentVariable(TEXT("ANIMGEN_TOKEN"));
	// Relative folders are the caller's: the editor's own working folder is Engine/Binaries/<Platform>.
	for (FString* Path : {&Input, &TlsCa, &FilesDir})
	{
		if (!Path->IsEmpty() && FPaths::IsRelative(*Path)) *Path = FPaths::ConvertRelativePathToFull(FPaths::LaunchDir(), *Path);
	}

	if (Input.IsEmpty() || !IFileManager::Get().DirectoryExists(*Input))
	{
		UE_LOG(LogAnimGen, Error, TEXT("-Input=%s: not a folder of videos"), *Input);
		return 2;
	}
	if (!Output.StartsWith(TEXT("/")) || !FAnimGenAnimationBuilder::IsContentFolder(Output))
	{
		// Before any upload: a mistyped root (/Gmae/...) failed each video only after its job had run.
		UE_LOG(LogAnimGen, Error, TEXT("-Output=%s: give a content path such as /Game/Animations"), *Output);
		return 2;
	}
	USkeleton* Skeleton = SkeletonPath.IsEmpty() ? nullptr : LoadObject<USkeleton>(nullptr, *SkeletonPath);
	if (!Skeleton)
	{
		UE_LOG(LogAnimGen, Error, TEXT("-Skeleton=%s: no USkeleton asset there"), *SkeletonPath);
		return 2;
	}
	if (const std::string BadToken = animgen::TokenProblem(TCHAR_TO_UTF8(*Token.TrimStartAndEnd())); !BadToken.empty())
	{
		UE_LOG(LogAnimGen, Error, TEXT("-Token= (or ANIMGEN_TOKEN): %s"), UTF8_TO_TCHAR(BadToken.c_str()));
		return 2;
	}
	animgen::SkeletonPreset Preset;
	if (!animgen::ParsePreset(TCHAR_TO_UTF8(*Mapping), &Preset))
	{
		UE_LOG(LogAnimGen, Error, TEXT("-Mapping=%s: use auto, ue5_manny, ue4_mannequin or mixamo"), *Mapping);
		return 2;
	}

	FAnimGenJobRequest Request;
	Request.Server = Server;
	Request.Token = Token;
	Request.bUseTls = FParse::Param(*Params, TEXT("Tls")) || !TlsCa.IsEmpty();
	Request.TlsRootCertsFile = TlsCa;
	animgen::GenerateOptions& O = Request.Options;
	O.hands = FParse::Param(*Params, TEXT("Hands"));
	O.inPlace = FParse::Param(*Params, TEXT("InPlace"));
	O.loop = FParse::Param(*Params, TEXT("Loop"));
	O.mirror = FParse::Param(*Params, TEXT("Mirror"));
	float Value = 0.f;
	if (FParse::Value(*Params, TEXT("Fps="), Value)) O.fps = Value;
	if (FParse::Value(*Params, TEXT("Smoothing="), Value)) O.smoothing = Value;
	FString Crop;  // X,Y,W,H: commas are separators to FParse unless told otherwise
	if (FParse::Value(*Params, TEXT("Crop="), Crop, false))
	{
		animgen::CropRegion Region;
		if (const std::string Bad = animgen::ParseCrop(TCHAR_TO_UTF8(*Crop), &Region); !Bad.empty())
		{
			UE_LOG(LogAnimGen, Error, TEXT("-Crop=%s: %s"), *Crop, UTF8_TO_TCHAR(Bad.c_str()));
			return 2;
		}
		O.crop = Region;
	}
	if (Generator == TEXT("network")) O.generator = animgen::Generator::Network;
	else if (Generator == TEXT("analytic")) O.generator = animgen::Generator::Analytic;
	else if (!Generator.IsEmpty())
	{
		UE_LOG(LogAnimGen, Error, TEXT("-Generator=%s: use network or analytic"), *Generator);
		return 2;
	}
	O.formats = {animgen::OutputFormat::Glb};
	// As the tab's "Server retarget": the skeleton goes with the job, and each AnimSequence is keyed from the server's
	// motion on it, planted feet locked on its own legs. -LocalRetarget retargets the clip here instead, feet unlocked.
	if (!FParse::Param(*Params, TEXT("LocalRetarget")))
	{
		O.target = FAnimGenAnimationBuilder::TargetFromSkeleton(*Skeleton);
		animgen::BoneMap Map;
		if (std::string Err = animgen::BuildBoneMap(O.target, Preset, {}, &Map); !Err.empty())
		{
			UE_LOG(LogAnimGen, Error, TEXT("-Skeleton=%s: %s"), *SkeletonPath, UTF8_TO_TCHAR(Err.c_str()));
			return 2;
		}
		O.targetBoneMap = animgen::BoneNames(O.target, Map);
	}
	// The server's own checks (-Fps, -Smoothing), said here (exit 2) rather than as one failed job per video.
	if (const std::string Problem = animgen::OptionsProblem(O); !Problem.empty())
	{
		UE_LOG(LogAnimGen, Error, TEXT("%s"), UTF8_TO_TCHAR(Problem.c_str()));
		return 2;
	}
	// As the tab's "Footstep notifies": LeftFootstep / RightFootstep where a foot lands. The skeleton gains the two names
	// in memory only: a batch does not save the user's skeleton (the notifies fire without the names on it).
	const bool bFootsteps = FParse::Param(*Params, TEXT("Footsteps"));
	// The longest one video may take, upload to clip, as the Unity batch's -animgenTimeout: a CI job always ends.
	float TimeoutMinutes = 60.f;
	FParse::Value(*Params, TEXT("TimeoutMinutes="), TimeoutMinutes);
	if (!(TimeoutMinutes > 0.f && TimeoutMinutes <= 24 * 60))
	{
		UE_LOG(LogAnimGen, Error, TEXT("-TimeoutMinutes must be between 0 and 1440, got %g"), TimeoutMinutes);
		return 2;
	}

	TArray<FString> Found, Videos;
	IFileManager::Get().FindFiles(Found, *(Input / TEXT("*")), true, false);
	for (const FString& F : Found)
	{
		if (animgen::IsVideoFile(TCHAR_TO_UTF8(*F))) Videos.Add(Input / F);
	}
	Videos.Sort();
	if (Videos.Num() == 0)
	{
		UE_LOG(LogAnimGen, Error, TEXT("-Input=%s: no videos (.mp4 .mov .avi .mkv .webm .m4v .mpg .mpeg)"), *Input);
		return 2;
	}

	// Each video replaces its A_<video>: videos whose names differ only in extension or case (run.mp4, Run.mov), or in
	// characters an asset name cannot hold, would replace each other's, so none of them is made (as in the Unity batch).
	auto AssetOf = [](const FString& Video) { return FAnimGenAnimationBuilder::AssetNameFor(FPaths::GetBaseFilename(Video)); };
	TMap<FString, TArray<FString>> VideosByAsset;
	for (const FString& Video : Videos)
	{
		VideosByAsset.FindOrAdd(AssetOf(Video).ToLower()).Add(FPaths::GetCleanFilename(Video));
	}

	int32 Failed = 0;
	for (const FString& Video : Videos)
	{
		const TArray<FString>& Same = VideosByAsset[AssetOf(Video).ToLower()];
		if (Same.Num() > 1)
		{
			UE_LOG(LogAnimGen, Error, TEXT("%s: %s would all become %s: rename all but one"), *Video,
				*FString::Join(Same, TEXT(", ")), *AssetOf(Video));
			++Failed;
			continue;
		}
		// A read-only A_<video> (not checked out) is said before its job runs, not after.
		if (const FString Problem = FAnimGenAnimationBuilder::DestinationProblem(Output, FPaths::GetBaseFilename(Video));
			!Problem.IsEmpty())
		{
			UE_LOG(LogAnimGen, Error, TEXT("%s: %s"), *Video, *Problem);
			++Failed;
			continue;
		}
		Request.VideoPath = Video;
		// By the whole file name: run.mp4 and run.mov get folders of their own.
		Request.FilesDir = FilesDir.IsEmpty() ? FString() : FilesDir / FPaths::GetCleanFilename(Video);
		animgen::JobResult Result;
		FString Error;
		int32 LastPercent = -10;
		FString LastStage;
		const bool bOk = FAnimGenJobRunner::RunBlocking(Request, [&](const FAnimGenProgress& P) {
			const int32 Percent = FMath::FloorToInt(P.Progress * 100.f);
			if (P.bWarning) UE_LOG(LogAnimGen, Warning, TEXT("%s: %s"), *FPaths::GetCleanFilename(Video), *P.Message);
			else if (Percent >= LastPercent + 10 || (P.Stage == TEXT("upload")) != (LastStage == TEXT("upload")))
			{
				// Every 10 %, and once more when the job's own progress (from 0 again) follows the upload's.
				LastPercent = Percent;
				LastStage = P.Stage;
				UE_LOG(LogAnimGen, Display, TEXT("%s: %3d%% %s"), *FPaths::GetCleanFilename(Video), Percent, *P.Stage);
			}
		}, Result, Error, TimeoutMinutes);
		if (!bOk)
		{
			UE_LOG(LogAnimGen, Error, TEXT("%s: %s"), *Video, *Error);
			++Failed;
			continue;
		}
		FAnimGenBuildSettings Settings;
		Settings.PackagePath = Output;
		Settings.AssetName = FPaths::GetBaseFilename(Video);
		Settings.Preset = Preset;
		Settings.bFootstepNotifies = bFootsteps;
		bool bReplaced = false;
		UAnimSequence* Sequence = FAnimGenAnimationBuilder::Build(Result.clip, *Skeleton, Settings, Error, &bReplaced,
			Result.targetMotion ? &*Result.targetMotion : nullptr);
		if (!Sequence)
		{
			UE_LOG(LogAnimGen, Error, TEXT("%s: %s"), *Video, *Error);
			++Failed;
			continue;
		}
		UE_LOG(LogAnimGen, Display, TEXT("%s -> %s (%s, %d frames, %.2f fps)"), *Video, *Sequence->GetPathName(),
			bReplaced ? TEXT("replaced") : TEXT("new"), Result.clip.frameCount, Result.clip.frameRate);
	}
	UE_LOG(LogAnimGen, Display, TEXT("AnimGen: %d of %d videos converted"), Videos.Num() - Failed, Videos.Num());
	return Failed == 0 ? 0 : 1;
}
