// Turns a HumanoidClip (glTF space) into a UAnimSequence on a USkeleton: reads the skeleton's reference pose,
// converts it to glTF space, retargets with the client core's bone tables (rest-pose corrected), converts the
// result to Unreal space and keys every bone through IAnimationDataController.
#pragma once

#include "CoreMinimal.h"

#include "BoneMapping.h"
#include "HumanoidClip.h"

class UAnimSequence;
class USkeleton;

struct ANIMGENEDITOR_API FAnimGenBuildSettings
{
	// Content folder and asset name, e.g. "/Game/AnimGen" and "run_sideview"; a free name is picked when taken.
	FString PackagePath = TEXT("/Game/AnimGen");
	FString AssetName;
	animgen::SkeletonPreset Preset = animgen::SkeletonPreset::Auto;
	// HumanBodyBones name -> skeleton bone name, over the table's choice.
	TMap<FString, FString> BoneMapOverrides;
	// Drive the skeleton's root bone from the clip's root motion (clips made "in place").
	bool bRootMotionOnRootBone = true;
	bool bSaveAsset = true;
};

class ANIMGENEDITOR_API FAnimGenAnimationBuilder
{
public:
	// The skeleton's reference pose in glTF space (metres, +Y up), for the core's retargeting or the server's.
	static animgen::TargetSkeleton TargetFromSkeleton(const USkeleton& Skeleton);

	// Creates (and saves) the AnimSequence; nullptr with OutError in words on failure.
	static UAnimSequence* Build(const animgen::HumanoidClip& Clip, USkeleton& Skeleton,
		const FAnimGenBuildSettings& Settings, FString& OutError);
};
