// Batch conversion for CI: every video in a folder becomes an AnimSequence on one skeleton.
//   UnrealEditor-Cmd <Project>.uproject -run=AnimGen -Input=<folder of videos> -Output=/Game/Animations
//     -Skeleton=/Game/Characters/Mannequins/Meshes/SK_Mannequin -Server=127.0.0.1:50051
//     [-Token=T (or env ANIMGEN_TOKEN)] [-TlsCa=roots.pem] [-Tls] [-Mapping=auto|ue5_manny|ue4_mannequin|mixamo]
//     [-Generator=network|analytic] [-Hands] [-InPlace] [-Loop] [-Mirror] [-Fps=30] [-Smoothing=0.5] [-Files=<dir>]
//     [-TimeoutMinutes=60] [-LocalRetarget] [-Footsteps] [-Crop=X,Y,W,H] [-Summary=FILE.json]
// Exit code 0 when every video converted, 1 when any failed (or the summary could not be written), 2 on a bad argument.
// -Summary writes what became of each video as JSON, in the shape of `animgen generate --summary` (BatchSummary.h).
#pragma once

#include "Commandlets/Commandlet.h"
#include "CoreMinimal.h"

#include "AnimGenCommandlet.generated.h"

UCLASS()
class ANIMGENEDITOR_API UAnimGenCommandlet : public UCommandlet
{
	GENERATED_BODY()

public:
	UAnimGenCommandlet();
	virtual int32 Main(const FString& Params) override;
};
