#include "AnimGenEditorModule.h"

#include "AnimGenClient.h"
#include "AnimGenJobRunner.h"
#include "Framework/Application/SlateApplication.h"
#include "Framework/Docking/TabManager.h"
#include "HAL/FileManager.h"
#include "HAL/PlatformMisc.h"
#include "LocalServer.h"
#include "Misc/Paths.h"
#include "SAnimGenPanel.h"
#include "ToolMenus.h"
#include "Widgets/Docking/SDockTab.h"
#include "WorkspaceMenuStructure.h"
#include "WorkspaceMenuStructureModule.h"

#if PLATFORM_UNIX || PLATFORM_MAC
#include <signal.h>  // kill: a server that will not stop as the editor closes
#endif

#define LOCTEXT_NAMESPACE "AnimGenEditor"

const FName FAnimGenEditorModule::TabName(TEXT("AnimGenGenerateFromVideo"));
TSharedPtr<FAnimGenJobRunner> FAnimGenEditorModule::SharedRunner;
FProcHandle FAnimGenEditorModule::LocalServer;
uint32 FAnimGenEditorModule::LocalServerPid = 0;
int64 FAnimGenEditorModule::LocalServerLogStart = 0;
bool FAnimGenEditorModule::bLocalServerStopping = false;
FString FAnimGenEditorModule::LocalServerExit;

DEFINE_LOG_CATEGORY_STATIC(LogAnimGenEditor, Log, All);

TSharedRef<FAnimGenJobRunner> FAnimGenEditorModule::Runner()
{
	if (!SharedRunner) SharedRunner = MakeShared<FAnimGenJobRunner>();
	return SharedRunner.ToSharedRef();
}

FString FAnimGenEditorModule::LocalServerLog()
{
	return FPaths::ConvertRelativePathToFull(FPaths::ProjectSavedDir() / TEXT("AnimGen") / TEXT("serve.log"));
}

bool FAnimGenEditorModule::IsLocalServerRunning()
{
	if (!LocalServer.IsValid()) return false;
	if (FPlatformProcess::IsProcRunning(LocalServer)) return true;
	if (!bLocalServerStopping)  // it ended on its own: the tab says why, from its exit code and its log
	{
		int32 Code = 0;
		const std::optional<int> ExitCode =
			FPlatformProcess::GetProcReturnCode(LocalServer, &Code) ? std::optional<int>(Code) : std::nullopt;
		LocalServerExit = UTF8_TO_TCHAR(animgen::DescribeLocalServerExit(ExitCode, TCHAR_TO_UTF8(*LocalServerLog()),
			LocalServerLogStart).c_str());
		UE_LOG(LogAnimGenEditor, Warning, TEXT("AnimGen: %s"), *LocalServerExit);
	}
	bLocalServerStopping = false;
	FPlatformProcess::CloseProc(LocalServer);  // reaped, the handle freed
	return false;
}

FString FAnimGenEditorModule::TakeLocalServerExit()
{
	IsLocalServerRunning();  // notices an end
	FString Exit = MoveTemp(LocalServerExit);
	LocalServerExit.Reset();
	return Exit;
}

FString FAnimGenEditorModule::StartLocalServer(const FString& Address, const FString& Token, const FString& Executable)
{
	if (IsLocalServerRunning()) return FString();
	int Port = 0;
	std::string Exe;
	std::string Problem = animgen::LocalServerPort(TCHAR_TO_UTF8(*Address), &Port);
	if (Problem.empty())
	{
		Problem = animgen::TokenProblem(TCHAR_TO_UTF8(*Token.TrimStartAndEnd()));  // the server would refuse to start
	}
	if (Problem.empty())
	{
		// Checked before the start: on Linux (and Mac before 5.8) a start that fails ends the editor.
		Problem = animgen::LocateServerExecutable(TCHAR_TO_UTF8(*Executable),
			TCHAR_TO_UTF8(*FPlatformMisc::GetEnvironmentVariable(TEXT("PATH"))), PLATFORM_WINDOWS != 0, &Exe);
	}
	if (!Problem.empty()) return FString(TEXT("Cannot start a local server: ")) + UTF8_TO_TCHAR(Problem.c_str());
	const FString Log = LocalServerLog();
	IFileManager::Get().MakeDirectory(*FPaths::GetPath(Log), true);
	const FString Params = FString::Printf(TEXT("serve --port %d --log-file \"%s\""), Port, *Log);
	LocalServerLogStart = FMath::Max<int64>(0, IFileManager::Get().FileSize(*Log));  // -1: no log yet
	LocalServerExit.Reset();
	// The token goes through the environment, not the command line that other users can list: the server inherits
	// the editor's, set for the moment of the start. With no token in the tab, none from the editor's either.
	const FString Before = FPlatformMisc::GetEnvironmentVariable(TEXT("ANIMGEN_TOKEN"));
	FPlatformMisc::SetEnvironmentVar(TEXT("ANIMGEN_TOKEN"), *Token.TrimStartAndEnd());
	LocalServer = FPlatformProcess::CreateProc(UTF8_TO_TCHAR(Exe.c_str()), *Params, false, true, true, &LocalServerPid, 0,
		nullptr, nullptr);
	FPlatformMisc::SetEnvironmentVar(TEXT("ANIMGEN_TOKEN"), *Before);
	if (!LocalServer.IsValid()) return FString::Printf(TEXT("Could not start %s"), UTF8_TO_TCHAR(Exe.c_str()));
	UE_LOG(LogAnimGenEditor, Display, TEXT("AnimGen: local server %s on port %d; its log: %s"), UTF8_TO_TCHAR(Exe.c_str()),
		Port, *Log);
	return FString();
}

void FAnimGenEditorModule::StopLocalServer()
{
	// SIGTERM elsewhere, where the server stops its workers itself; Windows ends the process at once, so its tree too.
	// Not waited for here (the server takes up to a few seconds): IsLocalServerRunning frees the handle once it ended.
	if (IsLocalServerRunning())
	{
		bLocalServerStopping = true;
		FPlatformProcess::TerminateProc(LocalServer, PLATFORM_WINDOWS != 0);
	}
}

void FAnimGenEditorModule::StartupModule()
{
	FGlobalTabmanager::Get()
		->RegisterNomadTabSpawner(TabName, FOnSpawnTab::CreateLambda([](const FSpawnTabArgs&) {
			return SNew(SDockTab).TabRole(ETabRole::NomadTab)[SNew(SAnimGenPanel)];
		}))
		.SetDisplayName(LOCTEXT("TabTitle", "AnimGen: Generate from Video"))
		.SetTooltipText(LOCTEXT("TabTooltip", "Turn a video of a person into an AnimSequence on a skeleton."))
		.SetGroup(WorkspaceMenu::GetMenuStructure().GetToolsCategory());

	UToolMenus::RegisterStartupCallback(FSimpleMulticastDelegate::FDelegate::CreateRaw(this, &FAnimGenEditorModule::RegisterMenus));
}

void FAnimGenEditorModule::RegisterMenus()
{
	FToolMenuOwnerScoped Owner(this);
	UToolMenu* Menu = UToolMenus::Get()->ExtendMenu("LevelEditor.MainMenu.Tools");
	FToolMenuSection& Section = Menu->FindOrAddSection("AnimGen");
	Section.AddMenuEntry("AnimGenOpen", LOCTEXT("MenuEntry", "Generate Animation from Video..."),
		LOCTEXT("MenuTooltip", "Open the AnimGen tab."), FSlateIcon(),
		FUIAction(FExecuteAction::CreateLambda([] { FGlobalTabmanager::Get()->TryInvokeTab(FAnimGenEditorModule::TabName); })));
}

void FAnimGenEditorModule::ShutdownModule()
{
	if (SharedRunner && SharedRunner->IsRunning()) SharedRunner->Cancel();  // the editor is closing: nobody takes it
	SharedRunner.Reset();
	StopLocalServer();  // started for this editor session
	if (LocalServer.IsValid())
	{
		// Its stop takes a few seconds at most (the grace it gives running calls); one that hangs must not hold the
		// editor's exit, and on Unix closing the handle of a running process waits for it.
		for (int32 Tenth = 0; Tenth < 150 && FPlatformProcess::IsProcRunning(LocalServer); ++Tenth)
		{
			FPlatformProcess::Sleep(0.1f);
		}
#if PLATFORM_UNIX || PLATFORM_MAC
		if (FPlatformProcess::IsProcRunning(LocalServer)) kill(static_cast<pid_t>(LocalServerPid), SIGKILL);
#endif
		FPlatformProcess::WaitForProc(LocalServer);
		FPlatformProcess::CloseProc(LocalServer);
	}
	UToolMenus::UnRegisterStartupCallback(this);
	UToolMenus::UnregisterOwner(this);
	if (FSlateApplication::IsInitialized())
	{
		FGlobalTabmanager::Get()->UnregisterNomadTabSpawner(TabName);
	}
}

#undef LOCTEXT_NAMESPACE

IMPLEMENT_MODULE(FAnimGenEditorModule, AnimGenEditor)
