#include "AnimGenAnimationBuilder.h"

#include "Animation/AnimData/IAnimationDataController.h"
#include "Animation/AnimSequence.h"
#include "Animation/Skeleton.h"
#include "AssetRegistry/AssetRegistryModule.h"
#include "AssetToolsModule.h"
#include "CoordinateConversion.h"
#include "Misc/PackageName.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"
#include "UObject/Package.h"
#include "UObject/SavePackage.h"

#define LOCTEXT_NAMESPACE "AnimGenAnimationBuilder"

namespace
{
animgen::Vec3 ToCore(const FVector& V) { return {V.X, V.Y, V.Z}; }
animgen::Quat ToCore(const FQuat& Q) { return {Q.X, Q.Y, Q.Z, Q.W}; }
FVector3f ToVector3f(const animgen::Vec3& V) { return FVector3f(float(V.x), float(V.y), float(V.z)); }
FQuat4f ToQuat4f(const animgen::Quat& Q) { return FQuat4f(float(Q.x), float(Q.y), float(Q.z), float(Q.w)).GetNormalized(); }

// Unreal wants a rational frame rate: whole rates stay whole (30/1), others keep three decimals (29970/1000).
FFrameRate FrameRateOf(float Fps)
{
	if (FMath::IsNearlyEqual(Fps, FMath::RoundToFloat(Fps), 1e-3f))
	{
		return FFrameRate(FMath::RoundToInt(Fps), 1);
	}
	return FFrameRate(FMath::RoundToInt(Fps * 1000.f), 1000);
}
}  // namespace

animgen::TargetSkeleton FAnimGenAnimationBuilder::TargetFromSkeleton(const USkeleton& Skeleton)
{
	const FReferenceSkeleton& Ref = Skeleton.GetReferenceSkeleton();
	const TArray<FTransform>& Pose = Ref.GetRawRefBonePose();
	animgen::TargetSkeleton Target;
	Target.name = TCHAR_TO_UTF8(*Skeleton.GetName());
	for (int32 Bone = 0; Bone < Ref.GetRawBoneNum(); ++Bone)
	{
		animgen::TargetBone B;
		B.name = TCHAR_TO_UTF8(*Ref.GetBoneName(Bone).ToString());
		B.parent = Ref.GetParentIndex(Bone);  // INDEX_NONE is -1, as the core expects
		B.restTranslation = animgen::UnrealToGltfPosition(ToCore(Pose[Bone].GetTranslation()));
		B.restRotation = animgen::UnrealToGltfRotation(ToCore(Pose[Bone].GetRotation()));
		Target.bones.push_back(B);
	}
	return Target;
}

UAnimSequence* FAnimGenAnimationBuilder::Build(const animgen::HumanoidClip& Clip, USkeleton& Skeleton,
	const FAnimGenBuildSettings& Settings, FString& OutError)
{
	const animgen::TargetSkeleton Target = TargetFromSkeleton(Skeleton);
	std::map<std::string, std::string> Overrides;
	for (const TPair<FString, FString>& Pair : Settings.BoneMapOverrides)
	{
		Overrides[TCHAR_TO_UTF8(*Pair.Key)] = TCHAR_TO_UTF8(*Pair.Value);
	}
	animgen::BoneMap Map;
	if (std::string Err = animgen::BuildBoneMap(Target, Settings.Preset, Overrides, &Map); !Err.empty())
	{
		OutError = UTF8_TO_TCHAR(Err.c_str());
		return nullptr;
	}
	animgen::RetargetedAnimation Anim;
	if (std::string Err = animgen::Retarget(Clip, Target, Map, &Anim); !Err.empty())
	{
		OutError = UTF8_TO_TCHAR(Err.c_str());
		return nullptr;
	}

	// A free asset name in the destination folder.
	FString BaseName = Settings.AssetName.IsEmpty() ? FString(UTF8_TO_TCHAR(Clip.name.c_str())) : Settings.AssetName;
	BaseName = FPaths::MakeValidFileName(BaseName.IsEmpty() ? TEXT("AnimGenClip") : BaseName, TEXT('_')).Replace(TEXT(" "), TEXT("_"));
	FString PackageName, AssetName;
	FAssetToolsModule& AssetTools = FModuleManager::LoadModuleChecked<FAssetToolsModule>("AssetTools");
	AssetTools.Get().CreateUniqueAssetName(Settings.PackagePath / (TEXT("A_") + BaseName), TEXT(""), PackageName, AssetName);
	if (!FPackageName::IsValidLongPackageName(PackageName))
	{
		OutError = FString::Printf(TEXT("destination %s is not a content path such as /Game/AnimGen"), *Settings.PackagePath);
		return nullptr;
	}

	UPackage* Package = CreatePackage(*PackageName);
	UAnimSequence* Sequence = NewObject<UAnimSequence>(Package, *AssetName, RF_Public | RF_Standalone | RF_Transactional);
	Sequence->SetSkeleton(&Skeleton);
	if (USkeletalMesh* Preview = Skeleton.GetPreviewMesh())
	{
		Sequence->SetPreviewMesh(Preview);
	}

	// Unreal counts frames as intervals: N keys make N - 1 frames. A one-frame clip is held for one interval.
	const int32 Keys = FMath::Max(Anim.frameCount, 2);
	const FReferenceSkeleton& Ref = Skeleton.GetReferenceSkeleton();
	const TArray<FTransform>& Pose = Ref.GetRawRefBonePose();
	const int32 HipsBone = Map.humanoidToTarget.at("Hips");
	const bool bRootMotion = Settings.bRootMotionOnRootBone && !Clip.rootMotion.empty() && HipsBone != 0;

	IAnimationDataController& Controller = Sequence->GetController();
	Controller.OpenBracket(LOCTEXT("Build", "AnimGen: build animation"), false);
	Controller.InitializeModel();
	Controller.SetFrameRate(FrameRateOf(Anim.frameRate), false);
	Controller.SetNumberOfFrames(FFrameNumber(Keys - 1), false);
	for (int32 Bone = 0; Bone < Anim.boneCount; ++Bone)  // every bone keyed, mapped or not
	{
		const FName BoneName = Ref.GetBoneName(Bone);
		TArray<FVector3f> Positions;
		TArray<FQuat4f> Rotations;
		TArray<FVector3f> Scales;
		Positions.Reserve(Keys);
		Rotations.Reserve(Keys);
		Scales.Reserve(Keys);
		for (int32 Key = 0; Key < Keys; ++Key)
		{
			const int32 Frame = FMath::Min(Key, Anim.frameCount - 1);
			FVector3f Position = ToVector3f(animgen::GltfToUnrealPosition(Anim.Translation(Frame, Bone)));
			if (bRootMotion && Bone == 0)
			{
				Position += ToVector3f(animgen::GltfToUnrealPosition(Clip.rootMotion[Frame] * Anim.hipsScale));
			}
			Positions.Add(Position);
			Rotations.Add(ToQuat4f(animgen::GltfToUnrealRotation(Anim.Rotation(Frame, Bone))));
			Scales.Add(FVector3f(Pose[Bone].GetScale3D()));
		}
		if (!Controller.AddBoneCurve(BoneName, false) || !Controller.SetBoneTrackKeys(BoneName, Positions, Rotations, Scales, false))
		{
			Controller.CloseBracket(false);
			OutError = FString::Printf(TEXT("could not key bone %s of %s"), *BoneName.ToString(), *Skeleton.GetName());
			Sequence->MarkAsGarbage();
			return nullptr;
		}
	}
	Controller.NotifyPopulated();
	Controller.CloseBracket(false);

	Sequence->bEnableRootMotion = bRootMotion;
	Sequence->ImportFileFramerate = Anim.frameRate;
	Sequence->ImportResampleFramerate = FMath::RoundToInt(Anim.frameRate);
	Sequence->PostEditChange();
	Sequence->MarkPackageDirty();
	FAssetRegistryModule::AssetCreated(Sequence);

	if (Settings.bSaveAsset)
	{
		const FString FileName = FPackageName::LongPackageNameToFilename(PackageName, FPackageName::GetAssetPackageExtension());
		FSavePackageArgs SaveArgs;
		SaveArgs.TopLevelFlags = RF_Public | RF_Standalone;
		SaveArgs.Error = GError;
		if (!UPackage::SavePackage(Package, Sequence, *FileName, SaveArgs))
		{
			OutError = FString::Printf(TEXT("could not save %s"), *FileName);
			return nullptr;
		}
	}
	return Sequence;
}

#undef LOCTEXT_NAMESPACE
