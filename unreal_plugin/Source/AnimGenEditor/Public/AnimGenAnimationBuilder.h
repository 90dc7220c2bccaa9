// Turns a HumanoidClip (glTF space) into a UAnimSequence on a USkeleton: reads the skeleton's reference pose,
// converts it to glTF space, retargets with the client core's bone tables (rest-pose corrected), or takes the
// server's motion on the skeleton, converts the result to Unreal space and keys every bone through
// IAnimationDataController.
#pragma once

#include "CoreMinimal.h"

#include "AnimGenClient.h"
#include "BoneMapping.h"
#include "HumanoidClip.h"

class UAnimSequence;
class USkeleton;

struct ANIMGENEDITOR_API FAnimGenBuildSettings
{
	// Content folder and name, e.g. "/Game/AnimGen" and "run_sideview": the AnimSequence is A_run_sideview there.
	// An existing one is replaced in place, as the Unity client replaces its clip: the same object, so assets that use
	// it stay valid, with all its keys, curves and notifies new. Another kind of asset under that name is an error.
	FString PackagePath = TEXT("/Game/AnimGen");
	FString AssetName;
	animgen::SkeletonPreset Preset = animgen::SkeletonPreset::Auto;
	// HumanBodyBones name -> skeleton bone name, over the table's choice.
	TMap<FString, FString> BoneMapOverrides;
	// Drive the skeleton's root bone from the clip's root motion (clips made "in place").
	bool bRootMotionOnRootBone = true;
	// Named notifies LeftFootstep / RightFootstep where a foot lands (animgen::FootstepTimes), each foot on a notify
	// track of that name; an Anim Blueprint gets them as the events AnimNotify_LeftFootstep / AnimNotify_RightFootstep.
	// Off unless asked for: it adds the two names to the Skeleton asset, which leaves the skeleton to be saved.
	bool bFootstepNotifies = false;
	bool bSaveAsset = true;
};

class ANIMGENEDITOR_API FAnimGenAnimationBuilder
{
public:
	// The skeleton's reference pose in glTF space (metres, +Y up), for the core's retargeting or the server's.
	static animgen::TargetSkeleton TargetFromSkeleton(const USkeleton& Skeleton);

	// Creates or replaces (and saves) the AnimSequence; nullptr with OutError in words on failure. OutReplaced tells
	// whether an existing one was replaced. ServerMotion: the server's motion on this skeleton (GetResult with
	// "Server retarget"), whose planted feet are locked on the skeleton's own legs; keyed instead of the core's
	// retarget of the clip when its bones are the skeleton's.
	static UAnimSequence* Build(const animgen::HumanoidClip& Clip, USkeleton& Skeleton,
		const FAnimGenBuildSettings& Settings, FString& OutError, bool* OutReplaced = nullptr,
		const animgen::TargetMotion* ServerMotion = nullptr);

	// The AnimSequence's name for a clip or video name: "run sideview" -> "A_run_sideview".
	static FString AssetNameFor(const FString& Name);

	// Whether PackagePath is a content folder (/Game/..., a plugin's mounted root) an AnimSequence can be made in.
	static bool IsContentFolder(const FString& PackagePath);

	// Why the AnimSequence for `Name` cannot go in the content folder PackagePath (not a content path, or its .uasset
	// read-only: not checked out), or empty: checked before a job starts, not after it ran.
	static FString DestinationProblem(const FString& PackagePath, const FString& Name);

	// The package a run for `Name` would replace in the content folder PackagePath, or empty when there is none.
	static FString ExistingAsset(const FString& PackagePath, const FString& Name);
};
