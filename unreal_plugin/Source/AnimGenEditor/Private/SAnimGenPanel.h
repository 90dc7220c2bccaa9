// The "Generate from Video" tab: server, token, video, target skeleton and bone table, options,
// Generate / Cancel, progress and errors. The work runs on a worker thread (FAnimGenJobRunner); the result
// becomes an AnimSequence (FAnimGenAnimationBuilder) that opens in the animation editor.
#pragma once

#include "CoreMinimal.h"
#include "Widgets/SCompoundWidget.h"

class FAnimGenJobRunner;
class USkeleton;
struct FAssetData;

class SAnimGenPanel : public SCompoundWidget
{
public:
	SLATE_BEGIN_ARGS(SAnimGenPanel) {}
	SLATE_END_ARGS()

	void Construct(const FArguments& InArgs);
	virtual ~SAnimGenPanel() override;

private:
	FReply OnBrowseVideo();
	FReply OnGenerate();
	FReply OnCancel();
	FReply OnCheckServer();
	FReply OnLocalServer();
	FReply OnBrowseServerFolder();
	void SetError(const FString& Error);
	EActiveTimerReturnType WatchLocalServer(double Time, float DeltaTime);
	void SaveSettings() const;
	void LoadSettings();

	FString GetSkeletonPath() const;
	void OnSkeletonChanged(const FAssetData& Asset);

	// Settings (kept in EditorPerProjectUserSettings between sessions, except the token).
	FString Server = TEXT("127.0.0.1:50051");
	FString Token;
	FString ServerExecutable;  // animgen for Start, or the AnimGen repository folder; empty: PATH
	bool bUseTls = false;
	FString TlsRootCertsFile;
	FString VideoPath;
	FString SkeletonPath;
	FString Destination = TEXT("/Game/AnimGen");
	TArray<TSharedPtr<FString>> PresetNames;
	TSharedPtr<FString> SelectedPreset;
	TArray<TSharedPtr<FString>> GeneratorNames;
	TSharedPtr<FString> SelectedGenerator;
	bool bHands = false;
	bool bInPlace = false;
	bool bLoop = false;
	bool bMirror = false;
	bool bFaceForward = true;
	bool bFootLock = true;
	bool bServerRetarget = true;  // the AnimSequence from the server's motion on the skeleton: planted feet locked on it
	bool bFootstepNotifies = false;  // LeftFootstep / RightFootstep notifies; adds the names to the skeleton
	float Smoothing = 0.5f;
	bool bTrim = false;  // only StartSeconds..EndSeconds of the video
	float StartSeconds = 0.f;
	float EndSeconds = 10.f;
	bool bCrop = false;  // look for the person in CropX, CropY, CropWidth x CropHeight pixels of the picture, then follow
	int32 CropX = 0;
	int32 CropY = 0;
	int32 CropWidth = 640;
	int32 CropHeight = 720;
	bool bVideoFps = true;  // the clip at the video's own frame rate; off: resampled to Fps
	float Fps = 30.f;

	// Job state shown in the tab.
	TSharedPtr<FAnimGenJobRunner> Runner;
	bool bChecking = false;  // a Check is waiting for the server's answer (on a worker thread)
	float Progress = 0.f;
	FText StatusText;
	FText ErrorText;
	TArray<FString> Warnings;
};
