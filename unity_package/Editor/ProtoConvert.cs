// Between the wire types (AnimGen.Protocol.V1, internal, generated) and the engine-free AnimGen.Core types.
using System.Linq;
using AnimGen.Core;
using Proto = AnimGen.Protocol.V1;

namespace AnimGen.Editor
{
    internal static class ProtoConvert
    {
        /// <summary>The clip message is all the Editor needs, but a job makes at least one file: the GLB, the
        /// quickest to make and the smallest to fetch.</summary>
        public const Proto.OutputFormat FileFormat = Proto.OutputFormat.Glb;

        public static HumanoidClipData ToClipData(Proto.HumanoidClip clip)
        {
            var c = new HumanoidClipData
            {
                Name = string.IsNullOrEmpty(clip.Name) ? "clip" : clip.Name,
                BoneNames = clip.Bones.Select(b => b.Name).ToArray(),
                Parents = clip.Bones.Select(b => b.Parent).ToArray(),
                RestOffsets = clip.Bones.SelectMany(b => b.RestOffset == null
                    ? new float[3] : new[] { b.RestOffset.X, b.RestOffset.Y, b.RestOffset.Z }).ToArray(),
                FrameRate = clip.FrameRate,
                FrameCount = clip.FrameCount,
                HipsPositions = clip.HipsPositions.ToArray(),
                Rotations = clip.Rotations.ToArray(),
                LeftFootContact = clip.LeftFootContact.ToArray(),
                RightFootContact = clip.RightFootContact.ToArray(),
                Confidence = clip.Confidence.ToArray(),
                RootMotion = clip.RootMotion.ToArray(),
            };
            foreach (var kv in clip.Metadata) c.Metadata[kv.Key] = kv.Value;
            c.Validate();
            return c;
        }

        public static Proto.GenerateOptions ToOptions(GenerateSettings s)
        {
            var o = new Proto.GenerateOptions
            {
                Hands = s.Hands,
                Smoothing = s.Smoothing,
                InPlace = s.InPlace,
                Loop = s.Loop,
                FaceForward = s.FaceForward,
                // Unspecified: the server's default generator, the network.
                Generator = s.Analytic ? Proto.Generator.Analytic : Proto.Generator.Unspecified,
            };
            if (!s.FootLock) o.FootLock = false; // unset: the server's default, on
            if (s.Trim)
            {
                o.StartSeconds = s.StartSeconds;
                o.EndSeconds = s.EndSeconds;
            }
            if (!s.UseVideoFps) o.Fps = s.Fps;
            if (s.Crop) o.Crop = new Proto.CropRegion { X = s.CropX, Y = s.CropY, Width = s.CropWidth, Height = s.CropHeight };
            o.Formats.Add(FileFormat);
            return o;
        }

        public static JobUpdate ToUpdate(Proto.JobEvent e)
        {
            var u = new JobUpdate
            {
                JobId = e.JobId,
                Stage = e.Stage,
                Progress = e.Progress,
                Message = e.Message,
            };
            switch (e.Type)
            {
                case Proto.EventType.State: u.Kind = JobUpdateKind.ServerState; break;
                case Proto.EventType.Queued: u.Kind = JobUpdateKind.Queued; break;
                case Proto.EventType.StageStarted: u.Kind = JobUpdateKind.StageStarted; break;
                case Proto.EventType.StageProgress: u.Kind = JobUpdateKind.StageProgress; break;
                case Proto.EventType.StageFinished: u.Kind = JobUpdateKind.StageFinished; break;
                case Proto.EventType.Warning: u.Kind = JobUpdateKind.Warning; break;
                case Proto.EventType.Done: u.Kind = JobUpdateKind.Done; break;
                case Proto.EventType.Failed: u.Kind = JobUpdateKind.Failed; break;
                case Proto.EventType.Cancelled: u.Kind = JobUpdateKind.Cancelled; break;
                case Proto.EventType.Interrupted: u.Kind = JobUpdateKind.Interrupted; break;
                default: u.Kind = JobUpdateKind.ServerState; break;
            }
            if (e.Job != null)
            {
                u.State = ToState(e.Job.State);
                if (string.IsNullOrEmpty(u.Stage)) u.Stage = e.Job.Stage;
                if (u.Kind == JobUpdateKind.ServerState) u.Progress = e.Job.Progress;
                // A STATE event's message is the state's name ("JOB_STATE_FAILED"); the job's error says why.
                bool useError = string.IsNullOrEmpty(u.Message) || u.Kind == JobUpdateKind.ServerState;
                if (useError && !string.IsNullOrEmpty(e.Job.Error)) u.Message = e.Job.Error;
            }
            return u;
        }

        public static ServerJobState ToState(Proto.JobState s)
        {
            switch (s)
            {
                case Proto.JobState.Queued: return ServerJobState.Queued;
                case Proto.JobState.Running: return ServerJobState.Running;
                case Proto.JobState.Succeeded: return ServerJobState.Succeeded;
                case Proto.JobState.Failed: return ServerJobState.Failed;
                case Proto.JobState.Cancelled: return ServerJobState.Cancelled;
                case Proto.JobState.Interrupted: return ServerJobState.Interrupted;
                default: return ServerJobState.Unspecified;
            }
        }
    }
}
