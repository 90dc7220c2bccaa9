// How the commandlet's -Jobs=N keeps up to N videos on the server at once, as the CLI's `--jobs N` and the Unity
// batch's -animgenJobs N do: the network part of each video on a worker thread, the AnimSequences built on the calling
// (game) thread in the folder's order. Plain threads, no Unreal types, so that it is GoogleTested outside the engine.
#pragma once

#include <functional>
#include <string>

#include "AnimGenClientCoreApi.h"

namespace animgen {

// The most videos a batch sends at once: the CLI's limit for --jobs, and the Unity batch's for -animgenJobs.
constexpr int kMostAtOnce = 64;

// "" with *atOnce set, or why text is not a number of videos to send at once (a whole number from 1 to kMostAtOnce,
// digits only): "must be a whole number from 1 to 64, got 'x'", for the commandlet to say after "-Jobs ".
ANIMGENCLIENTCORE_API std::string ParseAtOnce(const std::string& text, int* atOnce);

// What the commandlet notes where it sends a folder's videos one at a time (-Jobs left at 1) to a server that runs
// maxConcurrentJobs > 1 of them at once (GetServerInfo's limits), as `animgen generate DIR --server` notes it (-Jobs is
// easily missed): "note: the server at ADDRESS runs N jobs at once; -Jobs=N sends it this folder's videos N at a time".
// "" where the server runs one at a time (or does not say). N in -Jobs=N is kMostAtOnce at most, which -Jobs takes.
ANIMGENCLIENTCORE_API std::string AtOnceHint(const std::string& address, int maxConcurrentJobs);

// Runs videos 0..count-1. send(i) runs on one of atOnce worker threads (below 1: 1; no more than count), so no more
// than atOnce sends at a time, handed out in index order, each as soon as a place is free: a send that has returned
// frees its place at once, before its finish runs. finish(i) runs on the calling thread, in index order, as soon as
// send(i) and finish(i - 1) have returned (once any freed place has been handed to the next video: a finish, an
// AnimSequence being built, does not hold the next upload).
// stopped() is asked on the calling thread just before each send is handed out; once it says true, nothing more is
// sent and it is not asked again: the sends in flight are waited for (they must end by themselves: the commandlet's at
// RunBlocking's watchdog) and each is still finished, in order. Returns how many were sent (count unless stopped): send
// and finish were called for exactly 0..that-1, each once, and every send has returned. send and finish must not throw
// (Unreal builds without exceptions); what send(i) writes for finish(i) is seen there (a lock is taken between them).
ANIMGENCLIENTCORE_API int RunInOrder(int count, int atOnce, const std::function<void(int)>& send,
                                     const std::function<void(int)>& finish, const std::function<bool()>& stopped);

}  // namespace animgen
