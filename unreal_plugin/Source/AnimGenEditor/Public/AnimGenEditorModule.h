// The AnimGen Editor module: registers the "Generate from Video" tab (Window > AnimGen and Tools menu).
#pragma once

#include "CoreMinimal.h"
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

private:
	void RegisterMenus();
	static TSharedPtr<FAnimGenJobRunner> SharedRunner;
};
