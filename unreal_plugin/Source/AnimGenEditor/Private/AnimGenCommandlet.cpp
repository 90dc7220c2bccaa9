#include "AnimGenCommandlet.h"

#include "Animation/AnimSequence.h"
#include "Animation/Skeleton.h"
#include "AnimGenAnimationBuilder.h"
#include "AnimGenClient.h"
#include "AnimGenJobRunner.h"
#include "BatchQueue.h"
#include "BatchSummary.h"
#include "CommandLineOptions.h"
#include "HAL/FileManager.h"
#include "HAL/PlatformTime.h"
#include "Interfaces/IPluginManager.h"
#include "Misc/Paths.h"
#include "PackageTools.h"
#include "VideoFiles.h"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

DEFINE_LOG_CATEGORY_STATIC(LogAnimGen, Log, All);

namespace
{
std::string Utf8(const FString& S) { return std::string(TCHAR_TO_UTF8(*S)); }
}  // namespace

UAnimGenCommandlet::UAnimGenCommandlet()
{
	IsClient = false;
	IsServer = false;
	IsEditor = true;
	LogToConsole = true;
	ShowErrorCount = true;
	HelpDescription = TEXT("Turns every video in -Input into an AnimSequence on -Skeleton under -Output, through an AnimGen server.");
	HelpUsage = TEXT("-run=AnimGen -Input=DIR [-Recursive] -Output=/Game/Path -Skeleton=/Game/.../Skeleton [-Server=host:port]"
		" [-Token=T] [-Tls] [-TlsCa=roots.pem] [-Mapping=auto|ue5_manny|ue4_mannequin|mixamo] [-Generator=network|analytic]"
		" [-Hands] [-InPlace] [-Loop] [-Mirror] [-Fps=30] [-Smoothing=0.5] [-Crop=X,Y,W,H] [-Files=DIR] [-TimeoutMinutes=60]"
		" [-LocalRetarget] [-Footsteps] [-Jobs=N (videos on the server at once, 1 to 64, default 1: as animgen generate --jobs)]"
		" [-Summary=FILE.json (what became of each video, for CI: as animgen generate --summary)]");
}

int32 UAnimGenCommandlet::Main(const FString& Params)
{
	// Each option only as a whole token (FParse matched substrings: -MaxJobs=4 was -Jobs=4, -NoHands was -Hands); a quoted
	// value keeps its spaces, commas included (-Crop=X,Y,W,H).
	const std::vector<std::string> Tokens = animgen::CommandLineTokens(Utf8(Params));
	auto Value = [&Tokens](const char* Name, FString& Out)
	{
		const std::optional<std::string> Found = animgen::OptionValue(Tokens, Name);
		if (Found) Out = UTF8_TO_TCHAR(Found->c_str());
		return Found.has_value();
	};
	auto Switch = [&Tokens](const char* Name) { return animgen::HasSwitch(Tokens, Name); };
	// A number as the CLI reads one; false (said) where the option holds something else: Atof had read -Fps=30fps as 30
	// and -Smoothing=abc as 0. Out stays empty where the option is not given.
	auto Number = [&Value](const char* Name, std::optional<float>& Out)
	{
		FString Text;
		if (!Value(Name, Text)) return true;
		double Read = 0.0;
		if (const std::string Problem = animgen::ParseNumber(Utf8(Text), &Read); !Problem.empty())
		{
			UE_LOG(LogAnimGen, Error, TEXT("-%s %s"), UTF8_TO_TCHAR(Name), UTF8_TO_TCHAR(Problem.c_str()));
			return false;
		}
		Out = float(Read);
		return true;
	};
	FString Input, Output, SkeletonPath, Server = TEXT("127.0.0.1:50051"), Token, TlsCa, Mapping = TEXT("auto"),
		Generator, FilesDir;
	Value("Input", Input);
	Value("Output", Output);
	Value("Skeleton", SkeletonPath);
	Value("Server", Server);
	Value("Token", Token);
	Value("TlsCa", TlsCa);
	Value("Mapping", Mapping);
	Value("Generator", Generator);
	Value("Files", FilesDir);
	// What became of each video, as JSON for CI, in the shape `animgen generate --summary` writes.
	FString SummaryPath;
	const bool bSummary = Value("Summary", SummaryPath);
	if (Token.IsEmpty()) Token = FPlatformMisc::GetEnvironmentVariable(TEXT("ANIMGEN_TOKEN"));
	// Relative paths are the caller's: the editor's own working folder is Engine/Binaries/<Platform>.
	for (FString* Path : {&Input, &TlsCa, &FilesDir, &SummaryPath})
	{
		if (!Path->IsEmpty() && FPaths::IsRelative(*Path)) *Path = FPaths::ConvertRelativePathToFull(FPaths::LaunchDir(), *Path);
	}

	// -Recursive, as `animgen generate DIR -r`: the videos of -Input's subfolders too (hidden ones aside), each
	// AnimSequence under the same sub-path of -Output (walk/take.mp4 -> /Game/Anims/walk/A_take).
	const bool bRecursive = Switch("Recursive");
	if (bRecursive && IFileManager::Get().FileExists(*Input))
	{
		UE_LOG(LogAnimGen, Error, TEXT("-Recursive takes a folder of videos (and its subfolders); -Input=%s is a file"), *Input);
		return 2;
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
	Request.bUseTls = Switch("Tls") || !TlsCa.IsEmpty();
	Request.TlsRootCertsFile = TlsCa;
	{
		// An unreadable -TlsCa is the command line's fault: refused once before any upload (exit 2), as
		// `animgen generate --tls-ca` refuses it, rather than as a failure of every video.
		FString ConnectError;
		FAnimGenJobRunner::Connection(Request, ConnectError);
		if (!ConnectError.IsEmpty())
		{
			UE_LOG(LogAnimGen, Error, TEXT("-TlsCa: %s"), *ConnectError);  // it names the file
			return 2;
		}
	}
	animgen::GenerateOptions& O = Request.Options;
	O.hands = Switch("Hands");
	O.inPlace = Switch("InPlace");
	O.loop = Switch("Loop");
	O.mirror = Switch("Mirror");
	if (!Number("Fps", O.fps) || !Number("Smoothing", O.smoothing)) return 2;
	FString Crop;  // X,Y,W,H
	if (Value("Crop", Crop))
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
	if (!Switch("LocalRetarget"))
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
	const bool bFootsteps = Switch("Footsteps");
	// The longest one video may take, upload to clip, as the Unity batch's -animgenTimeout: a CI job always ends.
	std::optional<float> GivenTimeout;
	if (!Number("TimeoutMinutes", GivenTimeout)) return 2;
	const float TimeoutMinutes = GivenTimeout.value_or(60.f);
	if (!(TimeoutMinutes > 0.f && TimeoutMinutes <= 24 * 60))
	{
		UE_LOG(LogAnimGen, Error, TEXT("-TimeoutMinutes must be between 0 and 1440, got %g"), TimeoutMinutes);
		return 2;
	}
	// -Jobs=N, as the CLI's --jobs and the Unity batch's -animgenJobs: up to N videos on the server at once, for a server
	// with several workers. A bare -Jobs (no '=') is refused too, rather than quietly taken as 1.
	int32 AtOnce = 1;
	FString JobsText;  // "2,3" whole: refused, not read as 2
	if (Value("Jobs", JobsText) || Switch("Jobs"))
	{
		if (const std::string Problem = animgen::ParseAtOnce(Utf8(JobsText), &AtOnce); !Problem.empty())
		{
			UE_LOG(LogAnimGen, Error, TEXT("-Jobs %s"), UTF8_TO_TCHAR(Problem.c_str()));
			return 2;
		}
	}

	// In the CLI's order (animgen::VideosIn, which GoogleTest covers with the sub-path mapping below).
	TArray<FString> Videos;
	for (const std::string& Video : animgen::VideosIn(Utf8(Input), bRecursive)) Videos.Add(UTF8_TO_TCHAR(Video.c_str()));
	if (Videos.Num() == 0)
	{
		UE_LOG(LogAnimGen, Error, TEXT("-Input=%s: no videos (.mp4 .mov .avi .mkv .webm .m4v .mpg .mpeg .mts .m2ts .3gp .wmv)%s"), *Input,
			bRecursive ? TEXT(" in it or its subfolders") : TEXT(""));
		return 2;
	}
	// The video's sub-path of -Input ("" but with -Recursive), under -Output and -Files.
	auto SubOf = [&Input](const FString& Video) { return animgen::VideoSubfolder(Utf8(Input), Utf8(Video)); };
	auto PackagePathOf = [&](const FString& Video) -> FString
	{
		return UTF8_TO_TCHAR(animgen::InSubfolder(Utf8(Output), SubOf(Video)).c_str());
	};

	// Each video replaces its A_<video>: videos whose names differ only in extension or case (run.mp4, Run.mov), or in
	// characters an asset name cannot hold, would replace each other's, so none of them is made (as in the Unity batch).
	// By the whole package name: two take.mp4 in different subfolders do not clash.
	auto AssetOf = [](const FString& Video) { return FAnimGenAnimationBuilder::AssetNameFor(FPaths::GetBaseFilename(Video)); };
	auto PackageOf = [&](const FString& Video)
	{
		return UPackageTools::SanitizePackageName(PackagePathOf(Video) / AssetOf(Video)).ToLower();
	};
	TMap<FString, TArray<FString>> VideosByAsset;
	for (const FString& Video : Videos)
	{
		VideosByAsset.FindOrAdd(PackageOf(Video)).Add(FPaths::GetCleanFilename(Video));
	}

	// The server's GetServerInfo, asked once (10 s at most) where the summary wants its version or the -Jobs note its limit.
	animgen::ServerInfo Info;
	std::optional<animgen::Status> Asked;
	auto AskServer = [&]() -> const animgen::Status&
	{
		if (!Asked)
		{
			FString ConnectError;  // -TlsCa was read above
			animgen::ConnectionOptions InfoConnection = FAnimGenJobRunner::Connection(Request, ConnectError);
			InfoConnection.deadline = std::chrono::seconds(10);
			Asked = animgen::Client(InfoConnection).GetServerInfo(&Info);
		}
		return *Asked;
	};

	// The summary's place is checked, and its folder made, before any upload: a batch must not run for an hour and
	// then find that it cannot say what it did. The server's version is asked once, for its "animgen" (null if not).
	animgen::BatchSummary Summary;
	if (bSummary)
	{
		std::vector<std::string> Inputs;
		for (const FString& Video : Videos) Inputs.push_back(Utf8(Video));
		if (!TlsCa.IsEmpty()) Inputs.push_back(Utf8(TlsCa));
		if (const std::string Problem = animgen::PrepareBatchSummaryPath(Utf8(SummaryPath), Inputs); !Problem.empty())
		{
			UE_LOG(LogAnimGen, Error, TEXT("-Summary=%s: %s"), *SummaryPath, UTF8_TO_TCHAR(Problem.c_str()));
			return 2;
		}
		const TSharedPtr<IPlugin> Plugin = IPluginManager::Get().FindPlugin(TEXT("AnimGen"));
		Summary.client = "unreal " + (Plugin ? Utf8(Plugin->GetDescriptor().VersionName) : std::string("?"));
		Summary.options = O;
		if (!O.target.bones.empty()) Summary.target = Utf8(Skeleton->GetPathName());
		if (const animgen::Status& S = AskServer(); S.Ok())
		{
			Summary.animgen = animgen::ServerVersionNumber(Info.serverVersion);
		}
		else
		{
			UE_LOG(LogAnimGen, Display, TEXT("-Summary: no server version (%s)"), UTF8_TO_TCHAR(S.ToString().c_str()));
		}
	}
	// Every way out from here writes the summary, one row per video found: those never begun are "cancelled".
	auto Finish = [&](int32 Code) -> int32
	{
		if (!bSummary) return Code;
		for (int32 I = int32(Summary.videos.size()); I < Videos.Num(); ++I)
		{
			animgen::BatchVideo& Row = Summary.videos.emplace_back();
			Row.video = Utf8(Videos[I]);
			Row.status = animgen::BatchStatus::Cancelled;
		}
		if (const std::string Problem = animgen::WriteBatchSummary(Utf8(SummaryPath), Summary); !Problem.empty())
		{
			UE_LOG(LogAnimGen, Error, TEXT("-Summary=%s: %s"), *SummaryPath, UTF8_TO_TCHAR(Problem.c_str()));
			return Code == 0 ? 1 : Code;
		}
		return Code;
	};

	// Per video: why it is not sent (a clash, a read-only asset: checked here, on the game thread, before any job runs,
	// and said in its turn), where its files go, and what its send brought back for its finish.
	struct FVideoRun
	{
		FString Refused;
		FString FilesDir;
		bool bOk = false;
		animgen::JobResult Result;
		FString Error;
		std::vector<std::string> Warnings;
		double Started = 0.0;
		bool bStoppedByExit = false;  // its send was ended by the engine's exit (not a failure of its own before it)
	};
	std::vector<FVideoRun> Runs(size_t(Videos.Num()));
	for (int32 I = 0; I < Videos.Num(); ++I)
	{
		const FString& Video = Videos[I];
		const TArray<FString>& Same = VideosByAsset[PackageOf(Video)];
		Runs[I].Refused = Same.Num() > 1
			? FString::Printf(TEXT("%s would all become %s: rename all but one"), *FString::Join(Same, TEXT(", ")),
				*AssetOf(Video))
			: FAnimGenAnimationBuilder::DestinationProblem(PackagePathOf(Video), FPaths::GetBaseFilename(Video));
		// By the whole file name, under the video's sub-path: run.mp4 and run.mov get folders of their own.
		Runs[I].FilesDir = FilesDir.IsEmpty() ? FString()
			: FString(UTF8_TO_TCHAR(animgen::InSubfolder(Utf8(FilesDir), SubOf(Video)).c_str())) / FPaths::GetCleanFilename(Video);
	}

	// Videos one at a time to a server that runs several jobs at once: said, as the CLI says it (-Jobs is easily missed).
	int32 ToSend = 0;
	for (const FVideoRun& Run : Runs) ToSend += Run.Refused.IsEmpty() ? 1 : 0;
	if (AtOnce == 1 && ToSend > 1 && AskServer().Ok())
	{
		if (const std::string Hint = animgen::AtOnceHint(Utf8(Server.TrimStartAndEnd()), Info.maxConcurrentJobs); !Hint.empty())
		{
			UE_LOG(LogAnimGen, Display, TEXT("%s"), UTF8_TO_TCHAR(Hint.c_str()));
		}
	}

	// The network part of a video, on a worker thread (animgen::RunInOrder): no UObject is touched here. Its log lines
	// name the video, as each video's own lines may come between another's.
	auto Send = [&](int I)
	{
		FVideoRun& Run = Runs[I];
		if (!Run.Refused.IsEmpty()) return;
		const FString Name = FPaths::GetCleanFilename(Videos[I]);
		FAnimGenJobRequest VideoRequest = Request;
		VideoRequest.VideoPath = Videos[I];
		VideoRequest.FilesDir = Run.FilesDir;
		int32 LastPercent = -10;
		FString LastStage;
		Run.Started = FPlatformTime::Seconds();  // -TimeoutMinutes counts from here too, in RunBlocking
		Run.bOk = FAnimGenJobRunner::RunBlocking(VideoRequest, [&](const FAnimGenProgress& P) {
			const int32 Percent = FMath::FloorToInt(P.Progress * 100.f);
			if (P.bWarning)
			{
				UE_LOG(LogAnimGen, Warning, TEXT("%s: %s"), *Name, *P.Message);
				Run.Warnings.push_back(Utf8(P.Message));
			}
			else if (P.bNotice)  // "the server's queue is full; ...", "lost the server; ...": as the CLI says them
			{
				UE_LOG(LogAnimGen, Display, TEXT("%s: %s"), *Name, *P.Message);
			}
			else if (Percent >= LastPercent + 10 || (P.Stage == TEXT("upload")) != (LastStage == TEXT("upload")))
			{
				// Every 10 %, and once more when the job's own progress (from 0 again) follows the upload's.
				LastPercent = Percent;
				LastStage = P.Stage;
				UE_LOG(LogAnimGen, Display, TEXT("%s: %3d%% %s"), *Name, Percent, *P.Stage);
			}
		}, Run.Result, Run.Error, TimeoutMinutes, &Run.bStoppedByExit);
	};

	// The rest of a video, on this (the game) thread, in the folder's order: its AnimSequence built and saved, its
	// line logged and its summary row added.
	int32 Converted = 0;
	auto BuildOne = [&](int I)
	{
		const FString& Video = Videos[I];
		FVideoRun& Run = Runs[I];
		animgen::BatchVideo& Row = Summary.videos.emplace_back();  // failed until converted
		Row.video = Utf8(Video);
		Row.warnings = std::move(Run.Warnings);
		auto Fail = [&Row](const FString& Line)
		{
			UE_LOG(LogAnimGen, Error, TEXT("%s"), *Line);
			Row.error = Utf8(Line);
		};
		if (!Run.Refused.IsEmpty())
		{
			Fail(FString::Printf(TEXT("%s: %s"), *Video, *Run.Refused));
			return;
		}
		if (!Run.bOk)
		{
			Fail(FString::Printf(TEXT("%s: %s"), *Video, *Run.Error));
			// Stopped mid-job by the engine's exit (its job cancelled on the server): as the CLI has it, no error. Asked when
			// its send ended, not now: a video that failed on its own before the exit, finished after it, stays failed.
			if (Run.bStoppedByExit)
			{
				Row.status = animgen::BatchStatus::Cancelled;
				Row.error.clear();
			}
			return;
		}
		FAnimGenBuildSettings Settings;
		Settings.PackagePath = PackagePathOf(Video);
		Settings.AssetName = FPaths::GetBaseFilename(Video);
		Settings.Preset = Preset;
		Settings.bFootstepNotifies = bFootsteps;
		bool bReplaced = false;
		FString Error;
		const animgen::JobResult& Result = Run.Result;
		UAnimSequence* Sequence = FAnimGenAnimationBuilder::Build(Result.clip, *Skeleton, Settings, Error, &bReplaced,
			Result.targetMotion ? &*Result.targetMotion : nullptr);
		if (!Sequence)
		{
			Fail(FString::Printf(TEXT("%s: %s"), *Video, *Error));
			return;
		}
		// And what the server read of the video, as the CLI says it ("" from an older server, which does not tell).
		const std::string Read = animgen::FramesRead(Result.job.frames, Result.job.detectedShare);
		UE_LOG(LogAnimGen, Display, TEXT("%s -> %s (%s, %d frames, %.2f fps%s%s)"), *Video, *Sequence->GetPathName(),
			bReplaced ? TEXT("replaced") : TEXT("new"), Result.clip.frameCount, Result.clip.frameRate,
			Read.empty() ? TEXT("") : TEXT(", from "), UTF8_TO_TCHAR(Read.c_str()));
		++Converted;
		Row.status = animgen::BatchStatus::Converted;
		Row.outputs.emplace_back("anim_sequence", Utf8(Sequence->GetPathName()));
		for (const animgen::ResultFileInfo& File : Result.files)
		{
			if (File.format == animgen::OutputFormat::Glb && !File.path.empty()) Row.outputs.emplace_back("glb", File.path);
		}
		Row.frames = Result.job.frames;
		Row.detected = Result.job.detectedShare;
		Row.seconds = FPlatformTime::Seconds() - Run.Started;  // with the wait for the videos before it
		Run.Result = animgen::JobResult();  // a long batch holds only the clips not yet built
	};

	// Up to AtOnce videos on the server, each sent as soon as a place is free; each built as soon as it and those
	// before it are back. Ctrl-C, or a CI time limit's SIGTERM, asks the engine to exit: nothing more is sent, the
	// videos in flight are stopped by RunBlocking's watchdog (their jobs cancelled) and finished here, and those not
	// begun are left ("cancelled" in the summary, by Finish).
	const int32 Sent = animgen::RunInOrder(Videos.Num(), AtOnce, Send, BuildOne, [] { return IsEngineExitRequested(); });
	if (Sent < Videos.Num())
	{
		UE_LOG(LogAnimGen, Error, TEXT("AnimGen: stopped, the engine is exiting; %d videos not begun"), Videos.Num() - Sent);
	}
	UE_LOG(LogAnimGen, Display, TEXT("AnimGen: %d of %d videos converted"), Converted, Videos.Num());
	return Finish(Converted == Videos.Num() ? 0 : 1);
}
