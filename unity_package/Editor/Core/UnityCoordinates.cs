// glTF (right-handed, +Y up, faces +Z) <-> Unity (left-handed, +Y up, faces +Z): mirror the X axis.
// A position mirrors to (-x, y, z); a rotation under the same mirror keeps its X component and negates
// Y and Z: (x, -y, -z, w). The mirror is its own inverse, so each function also converts back, exactly.
namespace AnimGen.Core
{
    public static class UnityCoordinates
    {
        public static Vec3 PositionFromGltf(Vec3 p) { return new Vec3(-p.X, p.Y, p.Z); }

        public static Quat RotationFromGltf(Quat q) { return new Quat(q.X, -q.Y, -q.Z, q.W); }

        public static Vec3 PositionToGltf(Vec3 p) { return new Vec3(-p.X, p.Y, p.Z); }

        public static Quat RotationToGltf(Quat q) { return new Quat(q.X, -q.Y, -q.Z, q.W); }
    }
}
