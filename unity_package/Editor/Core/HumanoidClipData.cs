// The HumanoidClip on plain arrays, laid out as on the wire (animgen.v1.HumanoidClip): glTF space,
// metres, quaternions x, y, z, w, rotations frame-major (value index = (frame * boneCount + bone) * 4 + c).
// The Editor fills it from the protobuf message; tests and the batch tools fill it from the JSON file.
using System;
using System.Collections.Generic;
using System.Globalization;

namespace AnimGen.Core
{
    public sealed class HumanoidClipData
    {
        public const string JsonFormat = "animgen.HumanoidClip/1";

        public string Name = "clip";
        public string[] BoneNames = new string[0];
        public int[] Parents = new int[0];
        public float[] RestOffsets = new float[0];      // boneCount * 3; Hips: its rest position
        public float FrameRate = 30f;
        public int FrameCount;
        public float[] HipsPositions = new float[0];    // FrameCount * 3, world
        public float[] Rotations = new float[0];        // FrameCount * boneCount * 4, local from rest
        public bool[] LeftFootContact = new bool[0];
        public bool[] RightFootContact = new bool[0];
        public float[] Confidence = new float[0];       // FrameCount * boneCount
        public float[] RootMotion = new float[0];       // FrameCount * 3 when made "in place", else empty
        public Dictionary<string, string> Metadata = new Dictionary<string, string>(StringComparer.Ordinal);

        public int BoneCount { get { return BoneNames.Length; } }

        public float Duration { get { return FrameRate > 0f ? FrameCount / FrameRate : 0f; } }

        public int BoneIndex(string name) { return Array.IndexOf(BoneNames, name); }

        /// <summary>Local rotation of a bone at a frame, glTF space.</summary>
        public Quat Rotation(int frame, int bone)
        {
            CheckFrame(frame);
            if (bone < 0 || bone >= BoneCount) throw new ArgumentOutOfRangeException("bone", "bone " + bone + " of " + BoneCount);
            int i = (frame * BoneCount + bone) * 4;
            return new Quat(Rotations[i], Rotations[i + 1], Rotations[i + 2], Rotations[i + 3]);
        }

        public Vec3 HipsPosition(int frame)
        {
            CheckFrame(frame);
            return new Vec3(HipsPositions[frame * 3], HipsPositions[frame * 3 + 1], HipsPositions[frame * 3 + 2]);
        }

        public Vec3 RestOffset(int bone)
        {
            return new Vec3(RestOffsets[bone * 3], RestOffsets[bone * 3 + 1], RestOffsets[bone * 3 + 2]);
        }

        public float BoneConfidence(int frame, int bone)
        {
            return Confidence.Length == 0 ? 1f : Confidence[frame * BoneCount + bone];
        }

        /// <summary>The same values in Unity's space (X mirrored), ready for Transform.localRotation.</summary>
        public Quat UnityRotation(int frame, int bone) { return UnityCoordinates.RotationFromGltf(Rotation(frame, bone)); }

        public Vec3 UnityHipsPosition(int frame) { return UnityCoordinates.PositionFromGltf(HipsPosition(frame)); }

        public Vec3 UnityRestOffset(int bone) { return UnityCoordinates.PositionFromGltf(RestOffset(bone)); }

        void CheckFrame(int frame)
        {
            if (frame < 0 || frame >= FrameCount) throw new ArgumentOutOfRangeException("frame", "frame " + frame + " of " + FrameCount);
        }

        /// <summary>World joint positions at a frame, glTF space (forward kinematics from the rest offsets).</summary>
        public Vec3[] WorldPositions(int frame)
        {
            var pos = new Vec3[BoneCount];
            var rot = new Quat[BoneCount];
            for (int b = 0; b < BoneCount; b++)
            {
                int p = Parents[b];
                Quat local = Rotation(frame, b);
                if (p < 0)
                {
                    rot[b] = local;
                    pos[b] = HipsPosition(frame);
                }
                else
                {
                    rot[b] = rot[p] * local;
                    pos[b] = pos[p] + rot[p].Rotate(RestOffset(b));
                }
            }
            return pos;
        }

        /// <summary>Throws FormatException naming the first field whose size or content is wrong.</summary>
        public void Validate()
        {
            int B = BoneCount, T = FrameCount;
            if (B == 0) throw new FormatException("HumanoidClip has no bones");
            if (!(FrameRate > 0f)) throw new FormatException("HumanoidClip frame rate must be positive, got " + FrameRate);
            if (T < 0) throw new FormatException("HumanoidClip frame count is negative");
            Need("parents", Parents.Length, B);
            Need("rest offsets", RestOffsets.Length, B * 3);
            Need("hips positions", HipsPositions.Length, T * 3);
            Need("rotations", Rotations.Length, T * B * 4);
            if (Confidence.Length != 0) Need("confidence", Confidence.Length, T * B);
            if (RootMotion.Length != 0) Need("root motion", RootMotion.Length, T * 3);
            // The clip carries the Hips' positions, so the Hips are its one root, bone 0 (the builder places them there).
            if (BoneNames[0] != "Hips")
                throw new FormatException("HumanoidClip bone 0 is '" + BoneNames[0] + "': the clip's root must be the Hips");
            for (int b = 0; b < B; b++)
            {
                if (!HumanBones.IsHumanBone(BoneNames[b]))
                    throw new FormatException("HumanoidClip bone " + b + " '" + BoneNames[b] + "' is not a HumanBodyBones name");
                if (Parents[b] >= b || (Parents[b] < 0 && b != 0))
                    throw new FormatException("HumanoidClip bone '" + BoneNames[b] + "' has parent " + Parents[b] + ": parents must come first and only bone 0 is the root");
            }
        }

        static void Need(string what, int got, int expected)
        {
            if (got != expected) throw new FormatException("HumanoidClip " + what + " has " + got + " values, expected " + expected);
        }

        /// <summary>Reads the JSON that animgen_ml.clip.HumanoidClip.save_json writes.</summary>
        public static HumanoidClipData FromJson(string text)
        {
            var d = Json.Parse(text) as Dictionary<string, object>;
            if (d == null) throw new FormatException("not a HumanoidClip JSON: the top level is not an object");
            object format;
            d.TryGetValue("format", out format);
            if (!JsonFormat.Equals(format))
                throw new FormatException("not a HumanoidClip JSON (format '" + format + "', expected '" + JsonFormat + "')");
            var c = new HumanoidClipData();
            object name;
            if (d.TryGetValue("name", out name) && name is string) c.Name = (string)name;
            c.FrameRate = (float)Number(Field(d, "fps"), "fps");
            var bones = List(Field(d, "bones"), "bones");
            c.BoneNames = new string[bones.Count];
            c.Parents = new int[bones.Count];
            c.RestOffsets = new float[bones.Count * 3];
            for (int b = 0; b < bones.Count; b++)
            {
                var bone = bones[b] as Dictionary<string, object>;
                if (bone == null) throw new FormatException("HumanoidClip bones[" + b + "] is not an object");
                c.BoneNames[b] = Field(bone, "name") as string;
                c.Parents[b] = (int)Number(Field(bone, "parent"), "parent");
                Flatten(Field(bone, "rest_offset"), "rest_offset", c.RestOffsets, b * 3, 3);
            }
            var hips = List(Field(d, "hips"), "hips");
            c.FrameCount = hips.Count;
            c.HipsPositions = FlattenFrames(hips, "hips", 3);
            c.Rotations = FlattenFrames(List(Field(d, "rotations"), "rotations"), "rotations", c.BoneCount * 4);
            c.Confidence = FlattenFrames(List(Field(d, "confidence"), "confidence"), "confidence", c.BoneCount);
            var contacts = List(Field(d, "contacts"), "contacts");
            c.LeftFootContact = new bool[contacts.Count];
            c.RightFootContact = new bool[contacts.Count];
            for (int t = 0; t < contacts.Count; t++)
            {
                var pair = List(contacts[t], "contacts");
                c.LeftFootContact[t] = true.Equals(pair[0]);
                c.RightFootContact[t] = true.Equals(pair[1]);
            }
            object root;
            if (d.TryGetValue("root_motion", out root) && root != null)
                c.RootMotion = FlattenFrames(List(root, "root_motion"), "root_motion", 3);
            object meta;
            if (d.TryGetValue("metadata", out meta) && meta is Dictionary<string, object>)
                foreach (var kv in (Dictionary<string, object>)meta)
                    c.Metadata[kv.Key] = kv.Value == null ? "" : Convert.ToString(kv.Value, CultureInfo.InvariantCulture);
            c.Validate();
            return c;
        }

        static object Field(Dictionary<string, object> d, string key)
        {
            object v;
            if (!d.TryGetValue(key, out v)) throw new FormatException("HumanoidClip JSON has no '" + key + "'");
            return v;
        }

        static double Number(object v, string what)
        {
            if (!(v is double)) throw new FormatException("HumanoidClip '" + what + "' is not a number");
            return (double)v;
        }

        static List<object> List(object v, string what)
        {
            var l = v as List<object>;
            if (l == null) throw new FormatException("HumanoidClip '" + what + "' is not a list");
            return l;
        }

        // Nested lists of numbers (any depth) into out[at..at+count).
        static int Flatten(object v, string what, float[] output, int at, int count)
        {
            int n = 0;
            FlattenInto(v, what, output, at, count, ref n);
            if (n != count) throw new FormatException("HumanoidClip '" + what + "' has " + n + " values where " + count + " are expected");
            return n;
        }

        static void FlattenInto(object v, string what, float[] output, int at, int count, ref int n)
        {
            var l = v as List<object>;
            if (l == null)
            {
                if (n >= count) { n++; return; }
                output[at + n] = (float)Number(v, what);
                n++;
                return;
            }
            foreach (object item in l) FlattenInto(item, what, output, at, count, ref n);
        }

        static float[] FlattenFrames(List<object> frames, string what, int perFrame)
        {
            var output = new float[frames.Count * perFrame];
            for (int t = 0; t < frames.Count; t++) Flatten(frames[t], what + "[" + t + "]", output, t * perFrame, perFrame);
            return output;
        }
    }
}
