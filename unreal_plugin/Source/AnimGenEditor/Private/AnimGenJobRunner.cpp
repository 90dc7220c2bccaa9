#include "AnimGenJobRunner.h"

#include "Async/Async.h"
#include "Misc/FileHelper.h"
#include "Misc/Paths.h"
#include "Misc/ScopeLock.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace
{
FString ToF(const std::string& S) { return UTF8_TO_TCHAR(S.c_str()); }
std::string ToS(const FString& S) { return TCHAR_TO_UTF8(*S); }
}  // namespace

animgen::ConnectionOptions FAnimGenJobRunner::Connection(const FAnimGenJobRequest& Request, FString& OutError)
{
	animgen::ConnectionOptions Options;
	Options.address = ToS(Request.Server.TrimStartAndEnd());
	Options.bearerToken = ToS(Request.Token.TrimStartAndEnd());
	Options.useTls = Request.bUseTls;
	if (Request.bUseTls && !Request.TlsRootCertsFile.IsEmpty())
	{
		FString Pem;
		if (!FFileHelper::LoadFileToString(Pem, *Request.TlsRootCertsFile))
		{
			OutError = FString::Printf(TEXT("TLS root certificates %s: cannot be read"), *Request.TlsRootCertsFile);
		}
		Options.tlsRootCertsPem = ToS(Pem);
	}
	return Options;
}

bool FAnimGenJobRunner::Run(animgen::Client& Client, const FAnimGenJobRequest& Request, const FOnProgress& OnProgress,
	const std::atomic<bool>* CancelFlag, const TFunction<void(const FString&)>& OnJobStarted,
	animgen::JobResult& OutResult, FString& OutError)
{
	auto Cancelled = [CancelFlag] { return CancelFlag && CancelFlag->load(); };
	float Shown = 0.f;  // a notice leaves the progress as it was
	auto Report = [&OnProgress, &Shown](float P, const FString& Stage, const FString& Message, bool bWarning = false,
		bool bNotice = false) {
		if (!bNotice) Shown = P;
		if (OnProgress) OnProgress(FAnimGenProgress{bNotice ? Shown : P, Stage, Message, bWarning, bNotice});
	};
	auto Notice = [&](const std::string& Said) { Report(0.f, TEXT("server"), ToF(Said), false, true); };
	if (!FPaths::FileExists(Request.VideoPath))
	{
		OutError = FString::Printf(TEXT("video %s: no such file"), *Request.VideoPath);
		return false;
	}
	// A server reached before and then lost (a restart, a deploy) is waited for as the CLI waits for it: up to 2 minutes
	// from when it went, said once when lost and once when back; Cancel ends the wait. A first contact that fails, at once.
	// One outage per server for the process: once its wait is over, the commandlet's later videos fail at once.
	animgen::Outage ServerOutage(Client.Options().address, Client.HasReached(), Client.Options().reconnectWait, Notice,
		Client.CancellableSleep());
	// Cancel, the commandlet's limit or the engine's exit: what to do is the core's (Client::FinishStop). A job that was
	// made is cancelled on the server, by a call a further Client.Cancel() does not end, for 5 s at most
	// (animgen::kStopWait); where the server could not be told (UNAVAILABLE: no answer by then was received), its id is
	// said, since a queued job would run for nobody once the server is back. Stopped before StartJob was answered,
	// StartJob asked again for its job; where it could not, that is said as the CLI says it, whatever job an earlier
	// start (before an interruption) made.
	auto Stop = [&](const animgen::JobInfo& Made, const animgen::Status& Why) {
		const std::string Said = Client.FinishStop(Made, Why, ToS(FPaths::GetCleanFilename(Request.VideoPath)));
		OutError = Said.empty() ? FString(TEXT("cancelled")) : ToF(Said);
		return false;
	};
	Report(0.f, TEXT("upload"), FString::Printf(TEXT("Uploading %s"), *FPaths::GetCleanFilename(Request.VideoPath)));
	animgen::UploadedVideo Upload;
	animgen::Status S = animgen::Reconnecting(ServerOutage, [&] {
		return Client.UploadVideo(ToS(Request.VideoPath), &Upload, [&](int64_t Sent, int64_t Total) {
			// The upload's own fraction, as the Unity window shows it; the job's progress starts from 0 after it.
			Report(Total > 0 ? float(double(Sent) / double(Total)) : 0.f, TEXT("upload"),
				FString::Printf(TEXT("Uploaded %lld of %lld bytes"), (long long)Sent, (long long)Total));
		});
	});
	if (Cancelled()) { OutError = TEXT("cancelled"); return false; }  // Cancel ends the upload with CANCELLED
	if (!S.Ok())
	{
		OutError = FString::Printf(TEXT("upload of %s to %s failed: %s"), *Request.VideoPath, *Request.Server, *ToF(S.ToString()));
		return false;
	}

	// StartJob, the watch and StartJob again for a job a stop of the server interrupted, as the CLI runs them
	// (animgen::FollowJob): a full queue waited out, a lost server waited for, each warning said once.
	animgen::JobInfo Job;
	animgen::FollowCallbacks Follow;
	Follow.stopped = Cancelled;
	Follow.onNotice = [&](const std::string& Said) {
		Notice(Said);
		if (Cancelled()) Client.Cancel();  // pressed as StartJob began, before its wait for room could hear it
	};
	Follow.onJobStarted = [&](const animgen::JobInfo& Started) {
		if (OnJobStarted) OnJobStarted(ToF(Started.jobId));
		if (Started.state != animgen::JobState::Queued)  // a queued one is said as a notice
			Report(Started.progress, ToF(Started.stage), FString::Printf(TEXT("Job %s %s"), *ToF(Started.jobId),
				*ToF(animgen::JobStateName(Started.state))));
	};
	Follow.onEvent = [&](const animgen::JobEventInfo& E) {
		Report(E.progress, ToF(E.stage), E.message.empty() ? ToF(E.stage) : ToF(E.message),
			E.type == animgen::EventType::Warning);
	};
	S = Client.FollowJob(Upload.uploadId, Request.Options, ServerOutage, &Job, Follow);
	// Pressed while StartJob ran (Cancel found no job id), while the watch ran, or in a wait: the job is stopped here.
	if (Cancelled() || Job.state == animgen::JobState::Cancelled) return Stop(Job, S);
	if (!S.Ok())
	{
		// A StartJob left unanswered (the server gone, or too slow) is not a refusal: its message says what may be left.
		OutError = !Job.jobId.empty() ? FString::Printf(TEXT("lost the job's progress: %s"), *ToF(S.ToString()))
			: S.answered ? FString::Printf(TEXT("the server refused the job: %s"), *ToF(S.ToString()))
			: FString::Printf(TEXT("could not start the job: %s"), *ToF(S.ToString()));
		return false;
	}
	if (Job.state != animgen::JobState::Succeeded)
	{
		OutError = FString::Printf(TEXT("the job %s: %s"), *ToF(animgen::JobStateName(Job.state)).ToLower(),
			Job.error.empty() ? TEXT("no reason given") : *ToF(Job.error));
		return false;
	}
	Report(1.f, TEXT("result"), TEXT("Downloading the result"));
	// With a target skeleton ("Server retarget"), also the clip on it, as the server's GLB plays it.
	S = animgen::Reconnecting(ServerOutage, [&] {
		return Client.GetResult(Job.jobId, ToS(Request.FilesDir), &OutResult, {}, !Request.Options.target.bones.empty());
	});
	if (Cancelled()) { OutError = TEXT("cancelled"); return false; }  // pressed during the download, which it ends
	if (!S.Ok())
	{
		OutError = FString::Printf(TEXT("could not fetch the result: %s"), *ToF(S.ToString()));
		return false;
	}
	return true;
}

bool FAnimGenJobRunner::RunBlocking(const FAnimGenJobRequest& Request, const FOnProgress& OnProgress,
	animgen::JobResult& OutResult, FString& OutError, double TimeoutMinutes, bool* OutStoppedByExit)
{
	if (OutStoppedByExit) *OutStoppedByExit = false;
	animgen::ConnectionOptions Options = Connection(Request, OutError);
	if (!OutError.IsEmpty()) return false;
	animgen::Client Client(Options);
	// A job that never ends must not hold a CI run for ever: a watchdog ends the call in flight at the limit, or when
	// the engine is asked to exit (Ctrl-C, a CI time limit's SIGTERM: a commandlet runs no engine loop to see it), and
	// cancels the job (before StartJob has answered, Run cancels the job StartJob finds by its request id, as on Cancel;
	// a wait for room in a full queue ends at once).
	std::atomic<bool> bTimedOut{false};
	bool bExiting = false;
	std::mutex Mutex;
	std::condition_variable Wake;
	bool bDone = false;
	std::string JobId;
	std::thread Watchdog([&] {
		std::string Started;
		{
			const auto Limit = std::chrono::steady_clock::now() +
				std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double, std::ratio<60>>(TimeoutMinutes));
			std::unique_lock<std::mutex> Guard(Mutex);
			while (true)
			{
				const auto Next = std::min<std::chrono::steady_clock::time_point>(Limit, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
				if (Wake.wait_until(Guard, Next, [&] { return bDone; })) return;
				if (IsEngineExitRequested())
				{
					bExiting = true;
					break;
				}
				if (std::chrono::steady_clock::now() >= Limit) break;
			}
			bTimedOut = true;
			Started = JobId;
		}
		Client.Cancel();
		if (!Started.empty())  // outside the lock: a network call, which Run's end should not wait behind
		{
			// A stop's cancel (5 s at most): the exit must not wait the connection's minute for a server that does not answer.
			animgen::JobInfo Ignored;
			Client.CancelJob(Started, &Ignored, /*cancellable=*/false);
		}
	});
	auto OnJobStarted = [&](const FString& Id) {
		std::lock_guard<std::mutex> Guard(Mutex);
		JobId = ToS(Id);
	};
	const bool bOk = Run(Client, Request, OnProgress, &bTimedOut, OnJobStarted, OutResult, OutError);
	{
		std::lock_guard<std::mutex> Guard(Mutex);
		bDone = true;
	}
	Wake.notify_all();
	Watchdog.join();
	if (bTimedOut && !bOk)  // a run that finished as the limit came keeps its clip
	{
		// Run names a job the server could not be told to cancel (it could not be reached), or one it may have made
		// (StartJob unanswered, and the server not to be asked again).
		const FString Fate = OutError.StartsWith(TEXT("could not cancel")) || OutError.StartsWith(TEXT("the server may have"))
			? OutError : FString(TEXT("the job is cancelled"));
		if (OutStoppedByExit) *OutStoppedByExit = bExiting;
		OutError = bExiting ? FString::Printf(TEXT("stopped: the engine is exiting; %s"), *Fate)
			: FString::Printf(TEXT("no clip within %g minutes (-TimeoutMinutes): gave up, %s"), TimeoutMinutes, *Fate);
		return false;
	}
	return bOk;
}

void FAnimGenJobRunner::Start(const FAnimGenJobRequest& Request, FOnProgress OnProgress, FOnFinished OnFinished)
{
	check(IsInGameThread());
	FString ConnectError;
	animgen::ConnectionOptions Options = Connection(Request, ConnectError);
	if (!ConnectError.IsEmpty())
	{
		OnFinished(false, ConnectError, animgen::JobResult());
		return;
	}
	bRunning = true;
	bCancelled = false;
	{
		FScopeLock Guard(&Lock);
		ActiveClient = MakeShared<animgen::Client, ESPMode::ThreadSafe>(Options);
		ActiveJobId.Reset();
	}
	TWeakPtr<FAnimGenJobRunner> WeakThis = AsShared();
	TSharedPtr<animgen::Client, ESPMode::ThreadSafe> Client = ActiveClient;
	Async(EAsyncExecution::Thread, [WeakThis, Client, Request, OnProgress, OnFinished]() {
		auto OnWorkerProgress = [WeakThis, OnProgress](const FAnimGenProgress& P) {
			AsyncTask(ENamedThreads::GameThread, [WeakThis, OnProgress, P]() {
				if (WeakThis.IsValid() && OnProgress) OnProgress(P);
			});
		};
		TSharedPtr<animgen::JobResult> Result = MakeShared<animgen::JobResult>();
		FString Error = TEXT("cancelled");
		bool bOk = false;
		if (TSharedPtr<FAnimGenJobRunner> This = WeakThis.Pin())
		{
			Error.Reset();
			auto OnJobStarted = [WeakThis](const FString& JobId) {
				if (TSharedPtr<FAnimGenJobRunner> Runner = WeakThis.Pin())
				{
					FScopeLock Guard(&Runner->Lock);
					Runner->ActiveJobId = JobId;
				}
			};
			bOk = Run(*Client, Request, OnWorkerProgress, &This->bCancelled, OnJobStarted, *Result, Error);
		}
		AsyncTask(ENamedThreads::GameThread, [WeakThis, OnFinished, bOk, Error, Result]() {
			if (TSharedPtr<FAnimGenJobRunner> This = WeakThis.Pin())
			{
				This->bRunning = false;
				if (OnFinished) OnFinished(bOk, Error, *Result);
			}
		});
	});
}

void FAnimGenJobRunner::Cancel()
{
	// Once per run: a second click would end the cancel Run sends for the job StartJob's asking again found (that
	// job never reaches ActiveJobId), and the job would run for nobody.
	if (bCancelled.exchange(true)) return;
	TSharedPtr<animgen::Client, ESPMode::ThreadSafe> Client;
	{
		FScopeLock Guard(&Lock);
		Client = ActiveClient;
	}
	if (!Client) return;
	Client->Cancel();  // ends the watch (or upload, or StartJob) in flight
	// And stop the work on the server, off the game thread. Without a job id yet, StartJob was running: Cancel ended
	// it, it answers with the job found by its request id, and Run cancels that: bCancelled is set before the id is
	// read here.
	FString JobId;
	{
		FScopeLock Guard(&Lock);
		JobId = ActiveJobId;
	}
	if (JobId.IsEmpty()) return;
	Async(EAsyncExecution::Thread, [Client, JobId]() {
		animgen::JobInfo Ignored;
		Client->CancelJob(TCHAR_TO_UTF8(*JobId), &Ignored, /*cancellable=*/false);  // a stop's: 5 s at most
	});
}
