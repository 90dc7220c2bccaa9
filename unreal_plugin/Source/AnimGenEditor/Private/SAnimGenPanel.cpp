#include "SAnimGenPanel.h"

#include "Animation/AnimSequence.h"
#include "Animation/Skeleton.h"
#include "AnimGenAnimationBuilder.h"
#include "AnimGenEditorModule.h"
#include "AnimGenJobRunner.h"
#include "AssetRegistry/AssetData.h"
#include "Async/Async.h"
#include "DesktopPlatformModule.h"
#include "Editor.h"
#include "Framework/Application/SlateApplication.h"
#include "IDesktopPlatform.h"
#include "Misc/ConfigCacheIni.h"
#include "Misc/MessageDialog.h"
#include "Misc/Paths.h"
#include "PropertyCustomizationHelpers.h"
#include "Subsystems/AssetEditorSubsystem.h"
#include "Widgets/Input/SButton.h"
#include "Widgets/Input/SCheckBox.h"
#include "Widgets/Input/SComboBox.h"
#include "Widgets/Input/SEditableTextBox.h"
#include "Widgets/Input/SSpinBox.h"
#include "Widgets/Layout/SBox.h"
#include "Widgets/Layout/SScrollBox.h"
#include "Widgets/Layout/SUniformGridPanel.h"
#include "Widgets/Notifications/SProgressBar.h"
#include "Widgets/SBoxPanel.h"
#include "Widgets/Text/STextBlock.h"

#define LOCTEXT_NAMESPACE "SAnimGenPanel"

DEFINE_LOG_CATEGORY_STATIC(LogAnimGenPanel, Log, All);

// The tab open now (one at a time: a nomad tab), which the running job reports to.
static TWeakPtr<SAnimGenPanel> GOpenPanel;

namespace
{
const TCHAR* ConfigSection = TEXT("AnimGen.GenerateFromVideo");
const TCHAR* PresetLabels[] = {TEXT("Auto-detect"), TEXT("UE5 Manny / Quinn"), TEXT("UE4 Mannequin"), TEXT("Mixamo")};
const animgen::SkeletonPreset PresetValues[] = {animgen::SkeletonPreset::Auto, animgen::SkeletonPreset::UE5Manny,
	animgen::SkeletonPreset::UE4Mannequin, animgen::SkeletonPreset::Mixamo};
const TCHAR* GeneratorLabels[] = {TEXT("Server default"), TEXT("Neural network"), TEXT("Analytic solver")};

// A labelled row: label on the left, widget filling the rest.
TSharedRef<SWidget> Row(const FText& Label, TSharedRef<SWidget> Content)
{
	return SNew(SHorizontalBox)
		+ SHorizontalBox::Slot().AutoWidth().VAlign(VAlign_Center).Padding(0, 2, 8, 2)
		[
			SNew(SBox).WidthOverride(140)[SNew(STextBlock).Text(Label)]
		]
		+ SHorizontalBox::Slot().FillWidth(1.f).VAlign(VAlign_Center).Padding(0, 2)[Content];
}

TSharedRef<SWidget> Toggle(const FText& Label, bool* Value, const FText& Tooltip)
{
	return SNew(SCheckBox)
		.ToolTipText(Tooltip)
		.IsChecked_Lambda([Value] { return *Value ? ECheckBoxState::Checked : ECheckBoxState::Unchecked; })
		.OnCheckStateChanged_Lambda([Value](ECheckBoxState S) { *Value = S == ECheckBoxState::Checked; })
		[SNew(STextBlock).Text(Label)];
}
}  // namespace

void SAnimGenPanel::Construct(const FArguments&)
{
	for (const TCHAR* L : PresetLabels) PresetNames.Add(MakeShared<FString>(L));
	for (const TCHAR* L : GeneratorLabels) GeneratorNames.Add(MakeShared<FString>(L));
	SelectedPreset = PresetNames[0];
	SelectedGenerator = GeneratorNames[0];
	LoadSettings();
	Runner = FAnimGenEditorModule::Runner();
	GOpenPanel = SharedThis(this);
	RegisterActiveTimer(0.5f, FWidgetActiveTimerDelegate::CreateSP(this, &SAnimGenPanel::WatchLocalServer));
	if (Runner->IsRunning())
	{
		StatusText = LOCTEXT("StillRunning", "A job started in an earlier tab is still running: its AnimSequence is saved "
			"when it ends (Cancel stops it).");
	}

	auto TextBox = [](FString* Value, const FText& Hint, bool bPassword = false) {
		return SNew(SEditableTextBox)
			.Text_Lambda([Value] { return FText::FromString(*Value); })
			.HintText(Hint)
			.IsPassword(bPassword)
			.OnTextChanged_Lambda([Value](const FText& T) { *Value = T.ToString(); });
	};
	auto TrimSeconds = [this](float* Value) {  // Trim's Start or End, editable while Trim is on
		return SNew(SSpinBox<float>).MinValue(0.f).Delta(0.1f)
			.IsEnabled_Lambda([this] { return bTrim; })
			.Value_Lambda([Value] { return *Value; })
			.OnValueChanged_Lambda([Value](float V) { *Value = V; });
	};
	auto CropPixels = [this](int32* Value, int32 Min) {  // a side or corner of the crop, editable while Crop is on
		return SNew(SSpinBox<int32>).MinValue(Min).Delta(1)
			.IsEnabled_Lambda([this] { return bCrop; })
			.Value_Lambda([Value] { return *Value; })
			.OnValueChanged_Lambda([Value](int32 V) { *Value = V; });
	};
	auto Combo = [](TArray<TSharedPtr<FString>>* Items, TSharedPtr<FString>* Selected) {
		return SNew(SComboBox<TSharedPtr<FString>>)
			.OptionsSource(Items)
			.InitiallySelectedItem(*Selected)
			.OnGenerateWidget_Lambda([](TSharedPtr<FString> Item) -> TSharedRef<SWidget> { return SNew(STextBlock).Text(FText::FromString(*Item)); })
			.OnSelectionChanged_Lambda([Selected](TSharedPtr<FString> Item, ESelectInfo::Type) { if (Item) *Selected = Item; })
			[SNew(STextBlock).Text_Lambda([Selected] { return FText::FromString(**Selected); })];
	};
	ChildSlot
	[
		SNew(SScrollBox)
		+ SScrollBox::Slot().Padding(8)
		[
			SNew(SVerticalBox)
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Server", "Server"),
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().FillWidth(1.f)[TextBox(&Server, LOCTEXT("ServerHint", "host:port, e.g. 127.0.0.1:50051"))]
				+ SHorizontalBox::Slot().AutoWidth().Padding(4, 0, 0, 0)
				[
					SNew(SButton).Text(LOCTEXT("Check", "Check")).OnClicked(this, &SAnimGenPanel::OnCheckServer)
						.ToolTipText(LOCTEXT("CheckTip", "Ask the server for its version and limits."))
						.IsEnabled_Lambda([this] { return !bChecking; })
				])]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Token", "Token"),
				TextBox(&Token, LOCTEXT("TokenHint", "bearer token, when the server asks for one"), true))]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("LocalServer", "Local server"),
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().FillWidth(1.f)[TextBox(&ServerExecutable,
					LOCTEXT("ExecutableHint", "animgen executable or the AnimGen repository folder; empty: from PATH"))]
				+ SHorizontalBox::Slot().AutoWidth().Padding(4, 0, 0, 0)
				[
					SNew(SButton).Text(LOCTEXT("BrowseFolder", "Browse...")).OnClicked(this, &SAnimGenPanel::OnBrowseServerFolder)
						.ToolTipText(LOCTEXT("BrowseFolderTip", "Pick the AnimGen repository folder (its .venv is searched)."))
				]
				+ SHorizontalBox::Slot().AutoWidth().Padding(4, 0, 0, 0)
				[
					SNew(SButton).OnClicked(this, &SAnimGenPanel::OnLocalServer)
						.Text_Lambda([] { return FAnimGenEditorModule::IsLocalServerRunning() ? LOCTEXT("StopServer", "Stop")
							: LOCTEXT("StartServer", "Start"); })
						.ToolTipText(LOCTEXT("LocalServerTip", "Run `animgen serve` on this machine for this editor session, "
							"on the Server address's port (127.0.0.1:PORT), requiring the Token; or stop the one it started."))
				])]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Tls", "TLS"),
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().AutoWidth()[Toggle(LOCTEXT("UseTls", "Use TLS"), &bUseTls, LOCTEXT("UseTlsTip", "Connect with TLS."))]
				+ SHorizontalBox::Slot().FillWidth(1.f).Padding(8, 0, 0, 0)
				[TextBox(&TlsRootCertsFile, LOCTEXT("CaHint", "root certificates (PEM file); empty: the system's"))])]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Video", "Video"),
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().FillWidth(1.f)[TextBox(&VideoPath, LOCTEXT("VideoHint", "a video of one person (.mp4, .mov, ...)"))]
				+ SHorizontalBox::Slot().AutoWidth().Padding(4, 0, 0, 0)
				[SNew(SButton).Text(LOCTEXT("Browse", "Browse...")).OnClicked(this, &SAnimGenPanel::OnBrowseVideo)])]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Skeleton", "Target skeleton"),
				SNew(SObjectPropertyEntryBox)
				.AllowedClass(USkeleton::StaticClass())
				.ObjectPath(this, &SAnimGenPanel::GetSkeletonPath)
				.OnObjectChanged(this, &SAnimGenPanel::OnSkeletonChanged)
				.AllowClear(true)
				.DisplayThumbnail(false))]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Table", "Bone mapping"), Combo(&PresetNames, &SelectedPreset))]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Destination", "Save to"),
				TextBox(&Destination, LOCTEXT("DestHint", "content folder, e.g. /Game/AnimGen")))]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Generator", "Generator"), Combo(&GeneratorNames, &SelectedGenerator))]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Smoothing", "Smoothing"),
				SNew(SSpinBox<float>).MinValue(0.f).MaxValue(1.f).Delta(0.05f)
				.Value_Lambda([this] { return Smoothing; })
				.OnValueChanged_Lambda([this](float V) { Smoothing = V; }))]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Trim", "Trim"),
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().AutoWidth()[Toggle(LOCTEXT("TrimOn", "Part of the video"), &bTrim,
					LOCTEXT("TrimTip", "Generate only from Start to End (seconds into the video)."))]
				+ SHorizontalBox::Slot().AutoWidth().VAlign(VAlign_Center).Padding(12, 0, 4, 0)[SNew(STextBlock).Text(LOCTEXT("Start", "Start (s)"))]
				+ SHorizontalBox::Slot().FillWidth(1.f)[TrimSeconds(&StartSeconds)]
				+ SHorizontalBox::Slot().AutoWidth().VAlign(VAlign_Center).Padding(12, 0, 4, 0)[SNew(STextBlock).Text(LOCTEXT("End", "End (s)"))]
				+ SHorizontalBox::Slot().FillWidth(1.f)[TrimSeconds(&EndSeconds)])]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("Crop", "Crop"),
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().AutoWidth()[Toggle(LOCTEXT("CropOn", "Part of the picture"), &bCrop,
					LOCTEXT("CropTip", "Look for the person in this rectangle, in pixels of the video as played (X, Y of "
						"its top left corner, then width and height), and follow them: it moves, and grows, with them when "
						"they near its edge. For a video with other people in it."))]
				+ SHorizontalBox::Slot().FillWidth(1.f).Padding(12, 0, 0, 0)[CropPixels(&CropX, 0)]
				+ SHorizontalBox::Slot().FillWidth(1.f).Padding(4, 0, 0, 0)[CropPixels(&CropY, 0)]
				+ SHorizontalBox::Slot().FillWidth(1.f).Padding(4, 0, 0, 0)[CropPixels(&CropWidth, 32)]
				+ SHorizontalBox::Slot().FillWidth(1.f).Padding(4, 0, 0, 0)[CropPixels(&CropHeight, 32)])]
			+ SVerticalBox::Slot().AutoHeight()[Row(LOCTEXT("FrameRate", "Frame rate"),
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().AutoWidth()[Toggle(LOCTEXT("VideoFps", "Video's"), &bVideoFps,
					LOCTEXT("VideoFpsTip", "Keep the video's frame rate; off: resample the clip to the rate beside (1 to 240 fps)."))]
				+ SHorizontalBox::Slot().FillWidth(1.f).Padding(12, 0, 0, 0)
				[
					SNew(SSpinBox<float>).MinValue(1.f).MaxValue(240.f).Delta(1.f)
					.IsEnabled_Lambda([this] { return !bVideoFps; })
					.Value_Lambda([this] { return Fps; })
					.OnValueChanged_Lambda([this](float V) { Fps = V; })
				])]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 4)
			[
				SNew(SUniformGridPanel).SlotPadding(FMargin(0, 2, 12, 2))
				+ SUniformGridPanel::Slot(0, 0)[Toggle(LOCTEXT("Hands", "Fingers"), &bHands, LOCTEXT("HandsTip", "Track hands and animate the finger bones."))]
				+ SUniformGridPanel::Slot(1, 0)[Toggle(LOCTEXT("InPlace", "In place"), &bInPlace, LOCTEXT("InPlaceTip", "Remove horizontal travel; it drives the root bone as root motion."))]
				+ SUniformGridPanel::Slot(2, 0)[Toggle(LOCTEXT("Loop", "Loop"), &bLoop, LOCTEXT("LoopTip", "Blend the end into the start."))]
				+ SUniformGridPanel::Slot(0, 1)[Toggle(LOCTEXT("Mirror", "Mirror"), &bMirror, LOCTEXT("MirrorTip", "Swap left and right."))]
				+ SUniformGridPanel::Slot(1, 1)[Toggle(LOCTEXT("FaceForward", "Face forward"), &bFaceForward, LOCTEXT("FaceForwardTip", "Turn the clip to face forward on its first frame."))]
				+ SUniformGridPanel::Slot(2, 1)[Toggle(LOCTEXT("FootLock", "Foot locking"), &bFootLock, LOCTEXT("FootLockTip", "Keep planted feet still."))]
				+ SUniformGridPanel::Slot(0, 2)[Toggle(LOCTEXT("ServerRetarget", "Server retarget"), &bServerRetarget,
					LOCTEXT("ServerRetargetTip", "Send the skeleton's reference pose: the server retargets onto it, locking planted feet on its own legs, and the AnimSequence is keyed from that (its GLB is saved under Saved/AnimGen). Off: the clip is retargeted here, feet unlocked."))]
				+ SUniformGridPanel::Slot(1, 2)[Toggle(LOCTEXT("FootstepNotifies", "Footstep notifies"), &bFootstepNotifies,
					LOCTEXT("FootstepNotifiesTip", "Add the notifies LeftFootstep and RightFootstep where a foot lands (not on the first frame); an Anim Blueprint gets them as the events AnimNotify_LeftFootstep and AnimNotify_RightFootstep. Adds the two names to the skeleton, which is then to be saved."))]
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 8)
			[
				SNew(SHorizontalBox)
				+ SHorizontalBox::Slot().AutoWidth()
				[
					SNew(SButton).Text(LOCTEXT("Generate", "Generate")).OnClicked(this, &SAnimGenPanel::OnGenerate)
					.IsEnabled_Lambda([this] { return !Runner->IsRunning(); })
				]
				+ SHorizontalBox::Slot().AutoWidth().Padding(8, 0, 0, 0)
				[
					SNew(SButton).Text(LOCTEXT("Cancel", "Cancel")).OnClicked(this, &SAnimGenPanel::OnCancel)
					.IsEnabled_Lambda([this] { return Runner->IsRunning(); })
				]
			]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 4)[SNew(SProgressBar).Percent_Lambda([this] { return TOptional<float>(Progress); })]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 4)[SNew(STextBlock).Text_Lambda([this] { return StatusText; }).AutoWrapText(true)]
			+ SVerticalBox::Slot().AutoHeight().Padding(0, 4)
			[
				SNew(STextBlock).Text_Lambda([this] { return ErrorText; }).AutoWrapText(true)
				.ColorAndOpacity(FSlateColor(FLinearColor(1.f, 0.25f, 0.2f)))
			]
		]
	];
}

SAnimGenPanel::~SAnimGenPanel()
{
	SaveSettings();  // a running job goes on: the module holds its runner, and it saves the AnimSequence when done
}

FString SAnimGenPanel::GetSkeletonPath() const { return SkeletonPath; }

void SAnimGenPanel::OnSkeletonChanged(const FAssetData& Asset)
{
	SkeletonPath = Asset.IsValid() ? Asset.GetObjectPathString() : FString();
}

FReply SAnimGenPanel::OnBrowseVideo()
{
	IDesktopPlatform* Desktop = FDesktopPlatformModule::Get();
	if (!Desktop) return FReply::Handled();
	TArray<FString> Files;
	const void* Parent = FSlateApplication::Get().FindBestParentWindowHandleForDialogs(AsShared());
	if (Desktop->OpenFileDialog(Parent, TEXT("Choose a video"), FPaths::GetPath(VideoPath), TEXT(""),
			TEXT("Videos (*.mp4;*.mov;*.avi;*.mkv;*.webm;*.m4v;*.mpg;*.mpeg;*.mts;*.m2ts;*.3gp;*.wmv)|*.mp4;*.mov;*.avi;*.mkv;*.webm;*.m4v;*.mpg;*.mpeg;*.mts;*.m2ts;*.3gp;*.wmv"),
			EFileDialogFlags::None, Files) && Files.Num() > 0)
	{
		VideoPath = FPaths::ConvertRelativePathToFull(Files[0]);
	}
	return FReply::Handled();
}

FReply SAnimGenPanel::OnBrowseServerFolder()
{
	// A folder, not the file: file dialogs hide .venv on macOS and Linux, and the repository folder finds it.
	IDesktopPlatform* Desktop = FDesktopPlatformModule::Get();
	if (!Desktop) return FReply::Handled();
	FString Folder;
	const void* Parent = FSlateApplication::Get().FindBestParentWindowHandleForDialogs(AsShared());
	if (Desktop->OpenDirectoryDialog(Parent, TEXT("AnimGen repository (or the folder holding animgen)"),
			FPaths::GetPath(ServerExecutable), Folder))
	{
		ServerExecutable = FPaths::ConvertRelativePathToFull(Folder);
	}
	return FReply::Handled();
}

FReply SAnimGenPanel::OnCheckServer()
{
	if (bChecking) return FReply::Handled();
	FAnimGenJobRequest Request;
	Request.Server = Server;
	Request.Token = Token;
	Request.bUseTls = bUseTls;
	Request.TlsRootCertsFile = TlsRootCertsFile;
	FString ConnectError;
	animgen::ConnectionOptions Options = FAnimGenJobRunner::Connection(Request, ConnectError);
	if (!ConnectError.IsEmpty())
	{
		SetError(ConnectError);
		return FReply::Handled();
	}
	Options.deadline = std::chrono::milliseconds(5000);

	// The call waits up to 5 s, on a thread of its own as FAnimGenJobRunner's work does (a blocking wait should not hold
	// one of the shared pool's workers), so the editor stays responsive. The answer comes back on the game thread, and
	// only while the tab is still open.
	bChecking = true;
	ErrorText = FText::GetEmpty();
	StatusText = FText::FromString(FString::Printf(TEXT("Asking %s..."), *Server));
	TWeakPtr<SAnimGenPanel> WeakSelf = SharedThis(this);
	const FString Address = Server;
	Async(EAsyncExecution::Thread, [WeakSelf, Options, Address]() {
		animgen::Client Client(Options);
		animgen::ServerInfo Info;
		const animgen::Status S = Client.GetServerInfo(&Info);
		const bool bOk = S.Ok();
		const FString Message = bOk
			? FString::Printf(TEXT("%s, protocol %s, backend %s, uploads up to %lld MB"),
				UTF8_TO_TCHAR(Info.serverVersion.c_str()), UTF8_TO_TCHAR(Info.protocolVersion.c_str()),
				UTF8_TO_TCHAR(Info.backend.c_str()), (long long)(Info.maxUploadBytes >> 20))
			: FString::Printf(TEXT("server %s: %s"), *Address, UTF8_TO_TCHAR(S.ToString().c_str()));
		AsyncTask(ENamedThreads::GameThread, [WeakSelf, bOk, Message]() {
			TSharedPtr<SAnimGenPanel> Self = WeakSelf.Pin();
			if (!Self) return;
			Self->bChecking = false;
			if (bOk)
			{
				Self->ErrorText = FText::GetEmpty();
				Self->StatusText = FText::FromString(Message);
			}
			else
			{
				Self->StatusText = FText::GetEmpty();
				Self->SetError(Message);
			}
		});
	});
	return FReply::Handled();
}

FReply SAnimGenPanel::OnLocalServer()
{
	if (FAnimGenEditorModule::IsLocalServerRunning())
	{
		FAnimGenEditorModule::StopLocalServer();
		StatusText = LOCTEXT("ServerStopped", "Local server stopped.");
		return FReply::Handled();
	}
	if (bUseTls)
	{
		SetError(TEXT("Cannot start a local server: it speaks plaintext; turn TLS off to use it."));
		return FReply::Handled();
	}
	SaveSettings();
	const FString Problem = FAnimGenEditorModule::StartLocalServer(Server, Token, ServerExecutable);
	if (!Problem.IsEmpty())
	{
		SetError(Problem);
		return FReply::Handled();
	}
	ErrorText = FText::GetEmpty();
	StatusText = FText::FromString(FString::Printf(TEXT("Local server started (Check says when it answers); its log: %s"),
		*FAnimGenEditorModule::LocalServerLog()));
	return FReply::Handled();
}

FReply SAnimGenPanel::OnGenerate()
{
	ErrorText = FText::GetEmpty();
	Warnings.Reset();
	USkeleton* Skeleton = SkeletonPath.IsEmpty() ? nullptr : LoadObject<USkeleton>(nullptr, *SkeletonPath);
	if (!Skeleton)
	{
		SetError(TEXT("Pick a target skeleton (for example SK_Mannequin) first."));
		return FReply::Handled();
	}
	if (!FPaths::FileExists(VideoPath))
	{
		SetError(FString::Printf(TEXT("video %s: no such file"), *VideoPath));
		return FReply::Handled();
	}
	if (const FString Problem = FAnimGenAnimationBuilder::DestinationProblem(Destination, FPaths::GetBaseFilename(VideoPath));
		!Problem.IsEmpty())
	{
		SetError(Problem);  // before the upload, as the Unity window checks its folder
		return FReply::Handled();
	}

	FAnimGenJobRequest Request;
	Request.Server = Server;
	Request.Token = Token;
	Request.bUseTls = bUseTls;
	Request.TlsRootCertsFile = TlsRootCertsFile;
	Request.VideoPath = VideoPath;
	// ProjectSavedDir() is relative to the engine binary's folder; the client core opens paths against the working
	// folder, which need not be it.
	Request.FilesDir = FPaths::ConvertRelativePathToFull(
		FPaths::ProjectSavedDir() / TEXT("AnimGen") / FPaths::GetBaseFilename(VideoPath));
	animgen::GenerateOptions& O = Request.Options;
	O.hands = bHands;
	O.inPlace = bInPlace;
	O.loop = bLoop;
	O.mirror = bMirror;
	O.faceForward = bFaceForward;
	O.footLock = bFootLock;
	O.smoothing = Smoothing;
	if (bTrim)
	{
		O.startSeconds = StartSeconds;
		O.endSeconds = EndSeconds;
	}
	if (!bVideoFps) O.fps = Fps;
	if (bCrop) O.crop = animgen::CropRegion{CropX, CropY, CropWidth, CropHeight};
	O.generator = animgen::Generator(GeneratorNames.IndexOfByKey(SelectedGenerator));
	O.formats = {animgen::OutputFormat::Glb};
	if (bServerRetarget)
	{
		// With the map this tab uses for the AnimSequence: the server's GLB maps the bones the same way, and a rig the
		// server's own tables do not know is not refused.
		O.target = FAnimGenAnimationBuilder::TargetFromSkeleton(*Skeleton);
		animgen::BoneMap Map;
		const int32 Preset = FMath::Max(0, PresetNames.IndexOfByKey(SelectedPreset));
		if (std::string Err = animgen::BuildBoneMap(O.target, PresetValues[Preset], {}, &Map); !Err.empty())
		{
			SetError(FString::Printf(TEXT("%s: %s"), *Skeleton->GetName(), UTF8_TO_TCHAR(Err.c_str())));
			return FReply::Handled();
		}
		O.targetBoneMap = animgen::BoneNames(O.target, Map);
	}
	// The server's own checks, before the upload (and before asking to replace): an end before the start, say.
	if (const std::string Problem = animgen::OptionsProblem(O); !Problem.empty())
	{
		SetError(UTF8_TO_TCHAR(Problem.c_str()));
		return FReply::Handled();
	}
	// A re-run replaces the AnimSequence in place, which also drops what was added to it by hand: ask first, as the
	// Unity window does. The commandlet replaces without asking, as a build must.
	if (const FString Existing = FAnimGenAnimationBuilder::ExistingAsset(Destination, FPaths::GetBaseFilename(VideoPath));
		!Existing.IsEmpty()
		&& FMessageDialog::Open(EAppMsgType::YesNo, FText::Format(LOCTEXT("ReplaceAsset",
			"{0} exists. Replace it with the new take? What uses it will play the new take; keys, curves and notifies "
			"added to it by hand are lost."), FText::FromString(Existing))) != EAppReturnType::Yes)
	{
		return FReply::Handled();
	}
	SaveSettings();

	Progress = 0.f;
	StatusText = LOCTEXT("Starting", "Starting...");
	TWeakObjectPtr<USkeleton> WeakSkeleton(Skeleton);
	const int32 PresetIndex = FMath::Max(0, PresetNames.IndexOfByKey(SelectedPreset));
	const bool bFootsteps = bFootstepNotifies;
	const FString Folder = Destination;
	const FString AssetName = FPaths::GetBaseFilename(VideoPath);
	// Both callbacks report to the tab open at the time (GOpenPanel), which may be a later one than this, or to the
	// Output Log when none is: the job goes on when the tab is closed.
	Runner->Start(Request,
		[AssetName](const FAnimGenProgress& P) {
			const TSharedPtr<SAnimGenPanel> Self = GOpenPanel.Pin();  // held for the whole callback
			if (!Self)
			{
				if (P.bWarning) UE_LOG(LogAnimGenPanel, Warning, TEXT("AnimGen: %s: %s"), *AssetName, *P.Message);
				return;
			}
			Self->Progress = P.Progress;
			if (P.bWarning) Self->Warnings.Add(P.Message);
			Self->StatusText = FText::FromString(FString::Printf(TEXT("%3.0f%%  %s  %s"), P.Progress * 100.f, *P.Stage, *P.Message));
		},
		[WeakSkeleton, PresetIndex, bFootsteps, Folder, AssetName](bool bOk, const FString& Error, const animgen::JobResult& Result) {
			// Runs whether or not a tab is open (the module holds the runner): the clip is saved either way.
			// Held for the whole callback: saving the asset and opening its editor can let Slate close the tab meanwhile.
			const TSharedPtr<SAnimGenPanel> Self = GOpenPanel.Pin();
			auto Fail = [&Self, &AssetName](const FString& Message) {
				if (Self) Self->SetError(Message);
				else UE_LOG(LogAnimGenPanel, Warning, TEXT("AnimGen: %s: %s"), *AssetName, *Message);
			};
			if (!bOk)
			{
				Fail(Error == TEXT("cancelled") ? FString(TEXT("Cancelled.")) : Error);
				return;
			}
			USkeleton* Target = WeakSkeleton.Get();
			if (!Target)
			{
				Fail(TEXT("the target skeleton was unloaded while the job ran"));
				return;
			}
			FAnimGenBuildSettings Settings;
			Settings.PackagePath = Folder;
			Settings.AssetName = AssetName;
			Settings.Preset = PresetValues[PresetIndex];
			Settings.bFootstepNotifies = bFootsteps;
			FString BuildError;
			bool bReplaced = false;
			UAnimSequence* Sequence = FAnimGenAnimationBuilder::Build(Result.clip, *Target, Settings, BuildError, &bReplaced,
				Result.targetMotion ? &*Result.targetMotion : nullptr);
			if (!Sequence)
			{
				Fail(BuildError);
				return;
			}
			const FString Done = FString::Printf(TEXT("%s %s: %d frames at %.2f fps"), bReplaced ? TEXT("Replaced") : TEXT("Created"),
				*Sequence->GetPathName(), Result.clip.frameCount, Result.clip.frameRate);
			// What the server read of the video, as the CLI says it; "" from an older server, which does not tell.
			const std::string ReadUtf8 = animgen::FramesRead(Result.job.frames, Result.job.detectedShare);
			const FString Read = UTF8_TO_TCHAR(ReadUtf8.c_str());
			if (!Self)
			{
				UE_LOG(LogAnimGenPanel, Display, TEXT("AnimGen: %s%s%s"), *Done, Read.IsEmpty() ? TEXT("") : TEXT(", from "), *Read);
				return;
			}
			Self->Progress = 1.f;
			FString Shown = Done;
			if (!Read.IsEmpty()) Shown += TEXT("\n") + Read;
			Self->StatusText = FText::FromString(Shown + (Self->Warnings.Num() ? TEXT("\nWarnings: ") : TEXT(""))
				+ FString::Join(Self->Warnings, TEXT("; ")));
			GEditor->GetEditorSubsystem<UAssetEditorSubsystem>()->OpenEditorForAsset(Sequence);
		});
	return FReply::Handled();
}

FReply SAnimGenPanel::OnCancel()
{
	Runner->Cancel();
	StatusText = LOCTEXT("Cancelling", "Cancelling...");
	return FReply::Handled();
}

EActiveTimerReturnType SAnimGenPanel::WatchLocalServer(double, float)
{
	// A local server that ended on its own (its port taken, a crash) is told at once, not at the next Generate.
	const FString Exit = FAnimGenEditorModule::TakeLocalServerExit();
	if (Exit.IsEmpty()) return EActiveTimerReturnType::Continue;
	if (Runner->IsRunning())
	{
		ErrorText = FText::FromString(Exit);  // a job on another server keeps its status and progress
	}
	else
	{
		StatusText = FText::GetEmpty();
		SetError(Exit);
	}
	return EActiveTimerReturnType::Continue;
}

void SAnimGenPanel::SetError(const FString& Error)
{
	ErrorText = FText::FromString(Error);
	Progress = 0.f;
}

void SAnimGenPanel::SaveSettings() const
{
	// The token is not stored: it is a secret, and config files end up in version control.
	GConfig->SetString(ConfigSection, TEXT("Server"), *Server, GEditorPerProjectIni);
	GConfig->SetString(ConfigSection, TEXT("ServerExecutable"), *ServerExecutable, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("UseTls"), bUseTls, GEditorPerProjectIni);
	GConfig->SetString(ConfigSection, TEXT("TlsRootCertsFile"), *TlsRootCertsFile, GEditorPerProjectIni);
	GConfig->SetString(ConfigSection, TEXT("Video"), *VideoPath, GEditorPerProjectIni);
	GConfig->SetString(ConfigSection, TEXT("Skeleton"), *SkeletonPath, GEditorPerProjectIni);
	GConfig->SetString(ConfigSection, TEXT("Destination"), *Destination, GEditorPerProjectIni);
	GConfig->SetString(ConfigSection, TEXT("BoneMapping"), SelectedPreset ? **SelectedPreset : TEXT(""), GEditorPerProjectIni);
	GConfig->SetString(ConfigSection, TEXT("Generator"), SelectedGenerator ? **SelectedGenerator : TEXT(""), GEditorPerProjectIni);
	GConfig->SetFloat(ConfigSection, TEXT("Smoothing"), Smoothing, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("Hands"), bHands, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("InPlace"), bInPlace, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("Loop"), bLoop, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("Mirror"), bMirror, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("FaceForward"), bFaceForward, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("FootLock"), bFootLock, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("ServerRetarget"), bServerRetarget, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("FootstepNotifies"), bFootstepNotifies, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("Trim"), bTrim, GEditorPerProjectIni);
	GConfig->SetFloat(ConfigSection, TEXT("TrimStart"), StartSeconds, GEditorPerProjectIni);
	GConfig->SetFloat(ConfigSection, TEXT("TrimEnd"), EndSeconds, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("Crop"), bCrop, GEditorPerProjectIni);
	GConfig->SetInt(ConfigSection, TEXT("CropX"), CropX, GEditorPerProjectIni);
	GConfig->SetInt(ConfigSection, TEXT("CropY"), CropY, GEditorPerProjectIni);
	GConfig->SetInt(ConfigSection, TEXT("CropWidth"), CropWidth, GEditorPerProjectIni);
	GConfig->SetInt(ConfigSection, TEXT("CropHeight"), CropHeight, GEditorPerProjectIni);
	GConfig->SetBool(ConfigSection, TEXT("VideoFrameRate"), bVideoFps, GEditorPerProjectIni);
	GConfig->SetFloat(ConfigSection, TEXT("FrameRate"), Fps, GEditorPerProjectIni);
}

void SAnimGenPanel::LoadSettings()
{
	GConfig->GetString(ConfigSection, TEXT("Server"), Server, GEditorPerProjectIni);
	GConfig->GetString(ConfigSection, TEXT("ServerExecutable"), ServerExecutable, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("UseTls"), bUseTls, GEditorPerProjectIni);
	GConfig->GetString(ConfigSection, TEXT("TlsRootCertsFile"), TlsRootCertsFile, GEditorPerProjectIni);
	GConfig->GetString(ConfigSection, TEXT("Video"), VideoPath, GEditorPerProjectIni);
	GConfig->GetString(ConfigSection, TEXT("Skeleton"), SkeletonPath, GEditorPerProjectIni);
	GConfig->GetString(ConfigSection, TEXT("Destination"), Destination, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("Hands"), bHands, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("InPlace"), bInPlace, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("Loop"), bLoop, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("Mirror"), bMirror, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("FaceForward"), bFaceForward, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("FootLock"), bFootLock, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("ServerRetarget"), bServerRetarget, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("FootstepNotifies"), bFootstepNotifies, GEditorPerProjectIni);
	// Values edited out of range in the file are said at Generate (OptionsProblem), not clamped here.
	GConfig->GetBool(ConfigSection, TEXT("Trim"), bTrim, GEditorPerProjectIni);
	GConfig->GetFloat(ConfigSection, TEXT("Smoothing"), Smoothing, GEditorPerProjectIni);
	GConfig->GetFloat(ConfigSection, TEXT("TrimStart"), StartSeconds, GEditorPerProjectIni);
	GConfig->GetFloat(ConfigSection, TEXT("TrimEnd"), EndSeconds, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("Crop"), bCrop, GEditorPerProjectIni);
	GConfig->GetInt(ConfigSection, TEXT("CropX"), CropX, GEditorPerProjectIni);
	GConfig->GetInt(ConfigSection, TEXT("CropY"), CropY, GEditorPerProjectIni);
	GConfig->GetInt(ConfigSection, TEXT("CropWidth"), CropWidth, GEditorPerProjectIni);
	GConfig->GetInt(ConfigSection, TEXT("CropHeight"), CropHeight, GEditorPerProjectIni);
	GConfig->GetBool(ConfigSection, TEXT("VideoFrameRate"), bVideoFps, GEditorPerProjectIni);
	GConfig->GetFloat(ConfigSection, TEXT("FrameRate"), Fps, GEditorPerProjectIni);
	FString Label;
	if (GConfig->GetString(ConfigSection, TEXT("BoneMapping"), Label, GEditorPerProjectIni))
	{
		for (const TSharedPtr<FString>& Name : PresetNames)
			if (*Name == Label) SelectedPreset = Name;
	}
	if (GConfig->GetString(ConfigSection, TEXT("Generator"), Label, GEditorPerProjectIni))
	{
		for (const TSharedPtr<FString>& Name : GeneratorNames)
			if (*Name == Label) SelectedGenerator = Name;
	}
	if (Token.IsEmpty()) Token = FPlatformMisc::GetEnvironmentVariable(TEXT("ANIMGEN_TOKEN"));
}

#undef LOCTEXT_NAMESPACE
