// The Editor module: the "Generate from Video" tab, AnimSequence creation and the batch commandlet.
using UnrealBuildTool;

public class AnimGenEditor : ModuleRules
{
	public AnimGenEditor(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;

		PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });
		PrivateDependencyModuleNames.AddRange(new string[]
		{
			"AnimGenClientCore",   // the portable client, bone tables and coordinate conversion
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
