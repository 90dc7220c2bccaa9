#include "AnimGenAnimationBuilder.h"

#include "Animation/AnimCurveTypes.h"
#include "Animation/AnimData/CurveIdentifier.h"
#include "Animation/AnimData/IAnimationDataController.h"
#include "Animation/AnimSequence.h"
#include "Animation/AnimTypes.h"
#include "Animation/Skeleton.h"
#include "AssetRegistry/AssetRegistryModule.h"
#include "CoordinateConversion.h"
#include "Editor.h"
#include "FrameRates.h"
#include "HAL/FileManager.h"
#include "Misc/PackageName.h"
#include "Misc/Paths.h"
#include "ObjectTools.h"
#include "PackageTools.h"
#include "UObject/ObjectRedirector.h"
#include "UObject/Package.h"
#include "UObject/SavePackage.h"

#define LOCTEXT_NAMESPACE "AnimGenAnimationBuilder"

DEFINE_LOG_CATEGORY_STATIC(LogAnimGenBuilder, Log, All);

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

// Sets a sequence's length in frames; setting the length it already has would only log a warning.
void SetLength(IAnimationDataController& Controller, int32 Frames)
{
	if (Controller.GetModel()->GetNumberOfFrames() != Frames)
	{
		Controller.SetNumberOfFrames(FFrameNumber(Frames), false);
	}
}

// A named notify (no notify object: an Anim Blueprint gets it as the event AnimNotify_<Name>) at each of Times, on the
// notify track called Name, made as Persona's "New Notify" makes one; the name is added to the skeleton's notifies.
// Each foot has a track of its own: RefreshCacheData moves a notify off a track that already holds one at the same
// time onto another, made for it if need be, which both feet landing on one frame (a jump) would cause on one track.
// Called once the sequence has its length: Link places nothing on a sequence of length 0.
void AddNamedNotifies(UAnimSequence& Sequence, USkeleton& Skeleton, FName Name, const std::vector<float>& Times)
{
#if WITH_EDITORONLY_DATA
	if (Times.empty())
	{
		return;
	}
	// A replaced sequence's tracks were reset (DeleteNotifyTrackData leaves only track "1"); found by name all the same,
	// so that a second call never makes a second track of that name.
	int32 TrackIndex = Sequence.AnimNotifyTracks.IndexOfByPredicate(
		[Name](const FAnimNotifyTrack& Track) { return Track.TrackName == Name; });
	if (TrackIndex == INDEX_NONE)
	{
		TrackIndex = Sequence.AnimNotifyTracks.Add(FAnimNotifyTrack(Name, FLinearColor::White));
	}
	const float Length = Sequence.GetPlayLength();
	for (const float Seconds : Times)
	{
		// A landing on the last frame may come out a hair past the engine's own length of the sequence.
		const float Time = FMath::Min(Seconds, Length);
		FAnimNotifyEvent& Event = Sequence.Notifies.AddDefaulted_GetRef();
		Event.NotifyName = Name;
		Event.Guid = FGuid::NewGuid();
		Event.Link(&Sequence, Time);
		// On the last frame: triggered a hair before the end, so that it still fires.
		Event.TriggerTimeOffset = GetTriggerTimeOffsetForType(Sequence.CalculateOffsetForNotify(Time));
		Event.TrackIndex = TrackIndex;
	}
	// As the Skeleton editor's "Add Notify" does; Modify only for a new name, so that re-runs leave the skeleton clean.
	if (!Skeleton.AnimationNotifies.Contains(Name))
	{
		Skeleton.Modify();
		Skeleton.AddNewAnimationNotify(Name);
	}
#endif
}
}  // namespace

FString FAnimGenAnimationBuilder::AssetNameFor(const FString& Name)
{
	const FString Base =
		FPaths::MakeValidFileName(Name.IsEmpty() ? TEXT("AnimGenClip") : Name, TEXT('_')).Replace(TEXT(" "), TEXT("_"));
	// The clean-up IAssetTools::CreateUniqueAssetName applies, which earlier versions of this plugin named assets with:
	// a re-run finds the asset an earlier version made.
	return ObjectTools::SanitizeObjectName(UPackageTools::SanitizePackageName(TEXT("A_") + Base));
}

bool FAnimGenAnimationBuilder::IsContentFolder(const FString& PackagePath)
{
	return FPackageName::IsValidLongPackageName(UPackageTools::SanitizePackageName(PackagePath / TEXT("A_clip")));
}

FString FAnimGenAnimationBuilder::DestinationProblem(const FString& PackagePath, const FString& Name)
{
	const FString PackageName = UPackageTools::SanitizePackageName(PackagePath / AssetNameFor(Name));
	if (!FPackageName::IsValidLongPackageName(PackageName))
	{
		return FString::Printf(TEXT("destination %s is not a content path such as /Game/AnimGen"), *PackagePath);
	}
	// A .uasset that source control has not checked out could not be saved over: said before the job runs, and before
	// Build changes the asset in memory (reloading it then would also throw away the user's unsaved edits to it).
	const FString FileName = FPackageName::LongPackageNameToFilename(PackageName, FPackageName::GetAssetPackageExtension());
	return IFileManager::Get().IsReadOnly(*FileName)
		? FString::Printf(TEXT("%s is read-only: check it out (source control) or make it writable, then generate again"),
			*FileName)
		: FString();
}

FString FAnimGenAnimationBuilder::ExistingAsset(const FString& PackagePath, const FString& Name)
{
	// As Build finds it: in memory (made or replaced this session, maybe unsaved), else on disk.
	const FString AssetName = AssetNameFor(Name);
	const FString PackageName = UPackageTools::SanitizePackageName(PackagePath / AssetName);
	const bool bInMemory = IsValid(FindObject<UObject>(nullptr, *(PackageName + TEXT(".") + AssetName)));
	return bInMemory || FPackageName::DoesPackageExist(PackageName) ? PackageName : FString();
}

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
	const FAnimGenBuildSettings& Settings, FString& OutError, bool* OutReplaced, const animgen::TargetMotion* ServerMotion)
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
	std::string Mismatch = ServerMotion ? ServerMotion->Matches(Target) : std::string("no motion from the server");
	if (Mismatch.empty() && ServerMotion->animation.frameCount != Clip.frameCount)
	{
		// The root motion and the feet's contacts below are the clip's, one per frame: a motion of another length would
		// read past them.
		Mismatch = "the motion on the target has " + std::to_string(ServerMotion->animation.frameCount) +
			" frames, the clip " + std::to_string(Clip.frameCount);
	}
	if (Mismatch.empty())
	{
		// Planted feet locked on this skeleton's own legs; the core's retarget maps the clip by proportion, and its
		// planted ankles float or sink where the skeleton's feet differ from the actor's.
		Anim = ServerMotion->animation;
	}
	else
	{
		if (ServerMotion)  // the skeleton changed while the job ran, or the motion does not fit the clip
		{
			UE_LOG(LogAnimGenBuilder, Warning, TEXT("%s: %s; retargeting the clip here instead"), *Skeleton.GetName(),
				UTF8_TO_TCHAR(Mismatch.c_str()));
		}
		if (std::string Err = animgen::Retarget(Clip, Target, Map, &Anim); !Err.empty())
		{
			OutError = UTF8_TO_TCHAR(Err.c_str());
			return nullptr;
		}
	}

	// A_<name> in the destination folder: replaced in place when it exists, as the Unity client replaces its clip.
	const FString Name = Settings.AssetName.IsEmpty() ? FString(UTF8_TO_TCHAR(Clip.name.c_str())) : Settings.AssetName;
	OutError = DestinationProblem(Settings.PackagePath, Name);
	if (!OutError.IsEmpty()) return nullptr;
	const FString AssetName = AssetNameFor(Name);
	const FString PackageName = UPackageTools::SanitizePackageName(Settings.PackagePath / AssetName);
	const FString ObjectPath = PackageName + TEXT(".") + AssetName;
	UObject* Existing = FindObject<UObject>(nullptr, *ObjectPath);
	if (!IsValid(Existing) && FPackageName::DoesPackageExist(PackageName))
	{
		Existing = LoadObject<UObject>(nullptr, *ObjectPath, nullptr, LOAD_NoWarn | LOAD_NoRedirects);
		if (!Existing)
		{
			OutError = FString::Printf(TEXT("%s exists but holds no asset named %s: rename or move it"), *PackageName, *AssetName);
			return nullptr;
		}
	}
	UAnimSequence* Sequence = IsValid(Existing) ? Cast<UAnimSequence>(Existing) : nullptr;
	// A renamed A_<name> leaves a redirector under the old name (loaded as such: LOAD_NoRedirects).
	if (IsValid(Existing) && Existing->IsA<UObjectRedirector>())
	{
		OutError = FString::Printf(TEXT("%s is a redirector left by a rename: fix up the redirectors in %s, or delete it"),
			*ObjectPath, *Settings.PackagePath);
		return nullptr;
	}
	// Another kind of asset under that name is refused rather than given a free name (A_<name>_1): a fallback name
	// would be new on every run, so re-runs would pile up assets again and nothing would point at the newest.
	if (IsValid(Existing) && !Sequence)
	{
		OutError = FString::Printf(TEXT("%s is a %s, not an AnimSequence (AnimGen replaces only those): rename or move it"),
			*ObjectPath, *Existing->GetClass()->GetName());
		return nullptr;
	}
	const bool bReplace = Sequence != nullptr;

	// Unreal counts frames as intervals: N keys make N - 1 frames. A one-frame clip is held for one interval.
	const int32 Keys = FMath::Max(Anim.frameCount, 2);
	const FFrameRate Rate = FrameRateOf(Anim.frameRate);
	const FReferenceSkeleton& Ref = Skeleton.GetReferenceSkeleton();
	const TArray<FTransform>& Pose = Ref.GetRawRefBonePose();
	const int32 HipsBone = Map.humanoidToTarget.at("Hips");
	const bool bRootMotion = Settings.bRootMotionOnRootBone && !Clip.rootMotion.empty() && HipsBone != 0;

	// A sequence that holds keys takes only some frame rates directly (FrameRates.h): planned before anything changes.
	animgen::FrameRatePlan RatePlan;
	if (bReplace)
	{
		const FFrameRate Current = Sequence->GetController().GetModel()->GetFrameRate();
		if (!animgen::PlanFrameRateChange(
				{Current.Numerator, Current.Denominator}, {Rate.Numerator, Rate.Denominator}, &RatePlan))
		{
			OutError = FString::Printf(TEXT("%s is at %s and cannot be moved to the clip's %s"), *ObjectPath,
				*Current.ToPrettyText().ToString(), *Rate.ToPrettyText().ToString());
			return nullptr;
		}
	}
	UPackage* Package = nullptr;
	if (bReplace)
	{
		// The same object and package: Blueprints, montages and blend spaces that use it stay valid.
		Package = Sequence->GetPackage();
		Sequence->Modify();
	}
	else
	{
		Package = CreatePackage(*PackageName);
		Sequence = NewObject<UAnimSequence>(Package, *AssetName, RF_Public | RF_Standalone | RF_Transactional);
	}
	Sequence->SetSkeleton(&Skeleton);
	Sequence->SetPreviewMesh(Skeleton.GetPreviewMesh());  // none clears an earlier run's mesh of another skeleton
	// On a failure a replaced asset, which other assets point at, is not destroyed but reloaded from disk, so that
	// the emptied take in memory is never saved over the good one (by Save All, or an auto-save).
	auto KeepSavedTake = [&]()
	{
		FText ReloadError;
		if (UPackageTools::ReloadPackages(TArray<UPackage*>{Package}, ReloadError,
				UPackageTools::EReloadPackagesInteractionMode::AssumePositive))
		{
			OutError += FString::Printf(TEXT("; %s keeps its saved take"), *ObjectPath);
		}
		else
		{
			OutError += FString::Printf(TEXT("; %s could not be reloaded (%s): do not save it"), *ObjectPath,
				*ReloadError.ToString());
		}
	};

	IAnimationDataController& Controller = Sequence->GetController();
	Controller.OpenBracket(LOCTEXT("Build", "AnimGen: build animation"), false);
	Controller.InitializeModel();
	if (bReplace)
	{
		// Nothing of the earlier take stays: keys, curves, attributes, notifies and sync markers. Not ResetModel: it
		// sets 30 fps on a sequence that holds keys, which a 24, 25 or 29.97 fps clip could then not be set to.
		Controller.RemoveAllBoneTracks(false);
		Controller.RemoveAllCurvesOfType(ERawCurveTrackTypes::RCT_Float, false);
		Controller.RemoveAllCurvesOfType(ERawCurveTrackTypes::RCT_Transform, false);
		Controller.RemoveAllAttributes(false);
		Controller.UpdateWithSkeleton(&Skeleton, false);  // the skeleton may be another one, or have gained bones
		Sequence->DeleteNotifyTrackData();
	}
	else
	{
		// A new model has a default rate and length too, which 24, 25 or 29.97 fps would not convert to whole frames.
		const FFrameRate Fresh = Controller.GetModel()->GetFrameRate();
		if (!animgen::PlanFrameRateChange(
				{Fresh.Numerator, Fresh.Denominator}, {Rate.Numerator, Rate.Denominator}, &RatePlan))
		{
			RatePlan.steps = {{Rate.Numerator, Rate.Denominator}};  // no default rate to convert from
		}
	}
	if (Controller.GetModel()->GetFrameRate() != Rate)
	{
		SetLength(Controller, RatePlan.framesFirst);
		for (const animgen::FrameRate& Step : RatePlan.steps)
		{
			Controller.SetFrameRate(FFrameRate(Step.numerator, Step.denominator), false);
		}
	}
	SetLength(Controller, Keys - 1);
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
			if (bReplace)
			{
				KeepSavedTake();
			}
			else
			{
				Sequence->MarkAsGarbage();
			}
			return nullptr;
		}
	}
	// The feet's contacts as float curves, 1 while planted and 0 while not, stepped: an Anim Blueprint reads them with
	// Get Curve Value (foot IK weights, footstep sounds). A curve that cannot be added is named, not fatal.
	// Constructed explicitly: TTuple's element constructor is explicit in older engines (only conditionally explicit in
	// 5.4's Tuple.h), where a braced {a, b} element would not compile.
	using FContact = TPair<const char*, const std::vector<bool>*>;
	const FContact Contacts[] = {FContact(animgen::kLeftFootContactCurve, &Clip.leftFootContact),
		FContact(animgen::kRightFootContactCurve, &Clip.rightFootContact)};
	for (const FContact& Contact : Contacts)
	{
		TArray<FRichCurveKey> CurveKeys;
		for (const animgen::CurveKey& Key : animgen::ContactCurveKeys(*Contact.Value, Anim.frameRate))
		{
			FRichCurveKey& Added = CurveKeys.Emplace_GetRef(Key.time, Key.value);
			Added.InterpMode = RCIM_Constant;
		}
		const FAnimationCurveIdentifier CurveId(FName(UTF8_TO_TCHAR(Contact.Key)), ERawCurveTrackTypes::RCT_Float);
		if (!CurveKeys.IsEmpty() &&
			(!Controller.AddCurve(CurveId, AACF_DefaultCurve, false) || !Controller.SetCurveKeys(CurveId, CurveKeys, false)))
		{
			UE_LOG(LogAnimGenBuilder, Warning, TEXT("%s: could not add the %s curve"), *ObjectPath,
				UTF8_TO_TCHAR(Contact.Key));
		}
	}
	Controller.NotifyPopulated();
	Controller.CloseBracket(false);
	if (Settings.bFootstepNotifies)
	{
		AddNamedNotifies(*Sequence, Skeleton, FName(UTF8_TO_TCHAR(animgen::kLeftFootstepNotify)),
			animgen::FootstepTimes(Clip.leftFootContact, Anim.frameRate));
		AddNamedNotifies(*Sequence, Skeleton, FName(UTF8_TO_TCHAR(animgen::kRightFootstepNotify)),
			animgen::FootstepTimes(Clip.rightFootContact, Anim.frameRate));
		Sequence->RefreshCacheData();  // the tracks' lists of their notifies, which Persona draws
	}

	Sequence->bEnableRootMotion = bRootMotion;
	Sequence->ImportFileFramerate = Anim.frameRate;
	Sequence->ImportResampleFramerate = FMath::RoundToInt(Anim.frameRate);
	Sequence->PostEditChange();
	Sequence->MarkPackageDirty();
	if (!bReplace)
	{
		FAssetRegistryModule::AssetCreated(Sequence);
	}
	if (OutReplaced)
	{
		*OutReplaced = bReplace;
	}
	// The replace is not transacted (a whole new take), so the undo buffer's earlier edits of this sequence no longer
	// fit it: undone, they would write the old take's notifies and keys into the new one. Cleared, as the engine
	// clears it when it reloads a package; not in the middle of the user's own change (a drag), which it would cut off.
	if (bReplace && GEditor && !GEditor->IsTransactionActive() && GEditor->IsObjectInTransactionBuffer(Sequence))
	{
		GEditor->ResetTransaction(LOCTEXT("ReplacedTake", "AnimGen replaced an AnimSequence's take"));
	}

	if (Settings.bSaveAsset)
	{
		const FString FileName = FPackageName::LongPackageNameToFilename(PackageName, FPackageName::GetAssetPackageExtension());
		FSavePackageArgs SaveArgs;
		SaveArgs.TopLevelFlags = RF_Public | RF_Standalone;
		// Not GError (fatal): a replaced .uasset that source control has not checked out is read-only, and that is the
		// user's to fix, not a crash.
		SaveArgs.Error = GWarn;
		SaveArgs.SaveFlags = SAVE_NoError;
		if (!UPackage::SavePackage(Package, Sequence, *FileName, SaveArgs))
		{
			OutError = FString::Printf(TEXT("could not save %s"), *FileName);
			if (bReplace) KeepSavedTake();
			return nullptr;
		}
	}
	return Sequence;
}

#undef LOCTEXT_NAMESPACE
