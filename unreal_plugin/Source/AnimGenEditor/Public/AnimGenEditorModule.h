// The AnimGen Editor module: registers the "Generate from Video" tab (Window > AnimGen and Tools menu).
#pragma once

#include "CoreMinimal.h"
#include "Modules/ModuleInterface.h"

class FAnimGenEditorModule : public IModuleInterface
{
public:
	static const FName TabName;

	virtual void StartupModule() override;
	virtual void ShutdownModule() override;

private:
	void RegisterMenus();
};
