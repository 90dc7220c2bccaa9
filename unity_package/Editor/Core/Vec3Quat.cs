// Minimal vector and quaternion types so that this assembly needs no UnityEngine.
using System;

namespace AnimGen.Core
{
    /// <summary>A 3-vector of floats (metres when it is a position).</summary>
    public struct Vec3 : IEquatable<Vec3>
    {
        public float X, Y, Z;

        public Vec3(float x, float y, float z) { X = x; Y = y; Z = z; }

        public static Vec3 operator +(Vec3 a, Vec3 b) { return new Vec3(a.X + b.X, a.Y + b.Y, a.Z + b.Z); }
        public static Vec3 operator -(Vec3 a, Vec3 b) { return new Vec3(a.X - b.X, a.Y - b.Y, a.Z - b.Z); }
        public static Vec3 operator *(Vec3 a, float s) { return new Vec3(a.X * s, a.Y * s, a.Z * s); }

        public float Length { get { return (float)Math.Sqrt((double)X * X + (double)Y * Y + (double)Z * Z); } }

        public bool Equals(Vec3 o) { return X.Equals(o.X) && Y.Equals(o.Y) && Z.Equals(o.Z); }
        public override bool Equals(object obj) { return obj is Vec3 && Equals((Vec3)obj); }
        public override int GetHashCode() { return X.GetHashCode() ^ (Y.GetHashCode() << 7) ^ (Z.GetHashCode() << 14); }
        public override string ToString() { return "(" + X.ToString("G9") + ", " + Y.ToString("G9") + ", " + Z.ToString("G9") + ")"; }
    }

    /// <summary>A rotation quaternion stored x, y, z, w (the HumanoidClip order).</summary>
    public struct Quat : IEquatable<Quat>
    {
        public float X, Y, Z, W;

        public Quat(float x, float y, float z, float w) { X = x; Y = y; Z = z; W = w; }

        public static readonly Quat Identity = new Quat(0f, 0f, 0f, 1f);

        /// <summary>Rotation of angleDegrees about axis (right-hand rule in a right-handed space).</summary>
        public static Quat AngleAxis(float angleDegrees, Vec3 axis)
        {
            double half = angleDegrees * Math.PI / 360.0;
            double len = axis.Length;
            double s = Math.Sin(half) / len;
            return new Quat((float)(axis.X * s), (float)(axis.Y * s), (float)(axis.Z * s), (float)Math.Cos(half));
        }

        /// <summary>a * b: first b, then a (the parent-then-child order of forward kinematics).</summary>
        public static Quat operator *(Quat a, Quat b)
        {
            return new Quat(
                a.W * b.X + a.X * b.W + a.Y * b.Z - a.Z * b.Y,
                a.W * b.Y - a.X * b.Z + a.Y * b.W + a.Z * b.X,
                a.W * b.Z + a.X * b.Y - a.Y * b.X + a.Z * b.W,
                a.W * b.W - a.X * b.X - a.Y * b.Y - a.Z * b.Z);
        }

        /// <summary>The vector v turned by this rotation.</summary>
        public Vec3 Rotate(Vec3 v)
        {
            // v' = v + 2 w (q x v) + 2 q x (q x v)
            float tx = 2f * (Y * v.Z - Z * v.Y);
            float ty = 2f * (Z * v.X - X * v.Z);
            float tz = 2f * (X * v.Y - Y * v.X);
            return new Vec3(
                v.X + W * tx + (Y * tz - Z * ty),
                v.Y + W * ty + (Z * tx - X * tz),
                v.Z + W * tz + (X * ty - Y * tx));
        }

        public float Norm { get { return (float)Math.Sqrt((double)X * X + (double)Y * Y + (double)Z * Z + (double)W * W); } }

        public Quat Normalized()
        {
            float n = Norm;
            if (n < 1e-12f) return Identity;
            return new Quat(X / n, Y / n, Z / n, W / n);
        }

        /// <summary>Angle in degrees between two rotations (q and -q are the same rotation).</summary>
        public static float AngleBetween(Quat a, Quat b)
        {
            // The relative rotation conj(a) * b in doubles; atan2 stays accurate near 0 where acos does not.
            double ax = -a.X, ay = -a.Y, az = -a.Z, aw = a.W;
            double x = aw * b.X + ax * b.W + ay * b.Z - az * b.Y;
            double y = aw * b.Y - ax * b.Z + ay * b.W + az * b.X;
            double z = aw * b.Z + ax * b.Y - ay * b.X + az * b.W;
            double w = aw * b.W - ax * b.X - ay * b.Y - az * b.Z;
            return (float)(2.0 * Math.Atan2(Math.Sqrt(x * x + y * y + z * z), Math.Abs(w)) * 180.0 / Math.PI);
        }

        public bool Equals(Quat o) { return X.Equals(o.X) && Y.Equals(o.Y) && Z.Equals(o.Z) && W.Equals(o.W); }
        public override bool Equals(object obj) { return obj is Quat && Equals((Quat)obj); }
        public override int GetHashCode() { return X.GetHashCode() ^ (Y.GetHashCode() << 5) ^ (Z.GetHashCode() << 10) ^ (W.GetHashCode() << 15); }
        public override string ToString() { return "(" + X.ToString("G9") + ", " + Y.ToString("G9") + ", " + Z.ToString("G9") + ", " + W.ToString("G9") + ")"; }
    }
}
