// The AnimGen Editor module: registers the "Generate from Video" tab (Window > AnimGen and Tools menu).
#pragma once

#include "CoreMinimal.h"
#include "HAL/PlatformProcess.h"
#include "Modules/ModuleInterface.h"

class FAnimGenJobRunner;

class FAnimGenEditorModule : public IModuleInterface
{
public:
	static const FName TabName;

	virtual void StartupModule() override;
	virtual void ShutdownModule() override;

	// The tab's job runner. It belongs to the module, not the tab: a job goes on when the tab is closed (DESIGN: long
	// work survives a closed editor window), its AnimSequence is still saved, and a tab opened again can cancel it.
	static TSharedRef<FAnimGenJobRunner> Runner();

	// The tab's local server: `animgen serve` on the port of Address, from Executable (a file or the AnimGen
	// repository folder; empty: PATH; animgen::LocateServerExecutable), for this editor session; it requires Token
	// (none when empty). Returns "" or why it could not start. Stopped by StopLocalServer or when the editor closes.
	static FString StartLocalServer(const FString& Address, const FString& Token, const FString& Executable);
	static void StopLocalServer();
	static bool IsLocalServerRunning();
	static FString LocalServerLog();  // its --log-file, under the project's Saved folder
	// Once, why the local server ended without StopLocalServer (a port already taken, a crash), else "".
	static FString TakeLocalServerExit();

private:
	void RegisterMenus();
	static TSharedPtr<FAnimGenJobRunner> SharedRunner;
	static FProcHandle LocalServer;
	static uint32 LocalServerPid;
	static int64 LocalServerLogStart;  // the log's size at the start: what the server writes comes after it
	static bool bLocalServerStopping;  // StopLocalServer ended it: nothing to tell
	static FString LocalServerExit;
};
