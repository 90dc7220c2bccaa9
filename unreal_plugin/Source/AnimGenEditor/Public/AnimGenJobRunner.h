// Runs one video through an AnimGen server with the client core: upload, start, watch, result, riding out a restart
// of the server as the CLI does (animgen::Outage, animgen::FollowJob). RunBlocking serves the commandlet; Start runs
// the same steps on a worker thread and reports on the game thread, for the Editor tab. Cancel ends the watch, or a
// wait, at once and cancels the job on the server.
#pragma once

#include "CoreMinimal.h"
#include "HAL/CriticalSection.h"

#include <atomic>

#include "AnimGenClient.h"

struct ANIMGENEDITOR_API FAnimGenJobRequest
{
	FString Server = TEXT("127.0.0.1:50051");
	FString Token;
	bool bUseTls = false;
	FString TlsRootCertsFile;  // PEM; empty uses the system's roots
	FString VideoPath;
	animgen::GenerateOptions Options;
	// Where the job's files (GLB, BVH, ...) go; empty skips them.
	FString FilesDir;
};

struct ANIMGENEDITOR_API FAnimGenProgress
{
	float Progress = 0.f;
	FString Stage;
	FString Message;
	bool bWarning = false;
	// A line a log keeps, once: the server's queue is full, the job waits for a worker, the server was lost or reached
	// again, or the job is run again after a stop of the server.
	bool bNotice = false;
};

class ANIMGENEDITOR_API FAnimGenJobRunner : public TSharedFromThis<FAnimGenJobRunner>
{
public:
	using FOnProgress = TFunction<void(const FAnimGenProgress&)>;
	using FOnFinished = TFunction<void(bool bSucceeded, const FString& Error, const animgen::JobResult& Result)>;

	// Runs every step on the calling thread, which may be any thread (the commandlet's -Jobs=N runs several at once on
	// worker threads: it touches no UObject, and each call has a client of its own); false with OutError (one line) on
	// failure. Past TimeoutMinutes, or once the engine is asked to exit, the call in flight is ended and the job
	// cancelled on the server; *OutStoppedByExit (where given) is true only for a failure the engine's exit caused,
	// false for one of the video's own that came before it, or for a success.
	static bool RunBlocking(const FAnimGenJobRequest& Request, const FOnProgress& OnProgress,
		animgen::JobResult& OutResult, FString& OutError, double TimeoutMinutes = 60.0,
		bool* OutStoppedByExit = nullptr);

	// Runs on a worker thread; both callbacks are called on the game thread.
	void Start(const FAnimGenJobRequest& Request, FOnProgress OnProgress, FOnFinished OnFinished);
	// Ends the run; once per run, later calls do nothing.
	void Cancel();
	bool IsRunning() const { return bRunning.load(); }

	// The connection a request describes (server, token, TLS roots); OutError names an unreadable root-certificate file.
	static animgen::ConnectionOptions Connection(const FAnimGenJobRequest& Request, FString& OutError);

private:
	static bool Run(animgen::Client& Client, const FAnimGenJobRequest& Request, const FOnProgress& OnProgress,
		const std::atomic<bool>* CancelFlag, const TFunction<void(const FString&)>& OnJobStarted,
		animgen::JobResult& OutResult, FString& OutError);

	std::atomic<bool> bRunning{false};
	std::atomic<bool> bCancelled{false};
	FCriticalSection Lock;
	TSharedPtr<animgen::Client, ESPMode::ThreadSafe> ActiveClient;
	FString ActiveJobId;
};
