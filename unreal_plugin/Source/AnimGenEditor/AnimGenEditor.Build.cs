// The Editor module: the "Generate from Video" tab, AnimSequence creation and the batch commandlet.
using UnrealBuildTool;

public class AnimGenEditor : ModuleRules
{
	public AnimGenEditor(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;

		// The client core is public: AnimGenJobRunner.h and AnimGenAnimationBuilder.h include its headers.
		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine", "AnimGenClientCore" });
		PrivateDependencyModuleNames.AddRange(new string[]
		{
			"AnimationDataController",
			"AssetRegistry",
			"AssetTools",
			"ContentBrowser",
			"DesktopPlatform",     // the video file dialog
			"EditorFramework",
			"InputCore",
			"Projects",
			"PropertyEditor",      // SObjectPropertyEntryBox, the skeleton picker
			"Slate",
			"SlateCore",
			"ToolMenus",
			"UnrealEd",
			"WorkspaceMenuStructure",
		});
	}
}
