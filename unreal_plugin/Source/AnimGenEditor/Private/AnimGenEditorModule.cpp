#include "AnimGenEditorModule.h"

#include "AnimGenJobRunner.h"
#include "Framework/Application/SlateApplication.h"
#include "Framework/Docking/TabManager.h"
#include "SAnimGenPanel.h"
#include "ToolMenus.h"
#include "Widgets/Docking/SDockTab.h"
#include "WorkspaceMenuStructure.h"
#include "WorkspaceMenuStructureModule.h"

#define LOCTEXT_NAMESPACE "AnimGenEditor"

const FName FAnimGenEditorModule::TabName(TEXT("AnimGenGenerateFromVideo"));
TSharedPtr<FAnimGenJobRunner> FAnimGenEditorModule::SharedRunner;

TSharedRef<FAnimGenJobRunner> FAnimGenEditorModule::Runner()
{
	if (!SharedRunner) SharedRunner = MakeShared<FAnimGenJobRunner>();
	return SharedRunner.ToSharedRef();
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
	UToolMenus::UnRegisterStartupCallback(this);
	UToolMenus::UnregisterOwner(this);
	if (FSlateApplication::IsInitialized())
	{
		FGlobalTabmanager::Get()->UnregisterNomadTabSpawner(TabName);
	}
}

#undef LOCTEXT_NAMESPACE

IMPLEMENT_MODULE(FAnimGenEditorModule, AnimGenEditor)
