// Small vector / quaternion math for the client core (no engine types, double precision).
// Quaternions are stored x, y, z, w and rotate vectors the usual way: v' = q v q*.
#pragma once

#include <cmath>

namespace animgen {

struct Vec3 {
    double x = 0, y = 0, z = 0;
};

struct Quat {
    double x = 0, y = 0, z = 0, w = 1;
};

inline Vec3 operator+(const Vec3& a, const Vec3& b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(const Vec3& a, const Vec3& b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator*(const Vec3& a, double s) { return {a.x * s, a.y * s, a.z * s}; }
inline double Dot(const Vec3& a, const Vec3& b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 Cross(const Vec3& a, const Vec3& b) {
    return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline double Length(const Vec3& a) { return std::sqrt(Dot(a, a)); }
inline Vec3 Normalized(const Vec3& a) {
    const double n = Length(a);
    return n > 0 ? a * (1.0 / n) : Vec3{};
}

inline Quat operator*(const Quat& a, const Quat& b) {
    return {a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
            a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
            a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
            a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z};
}
inline Quat Conjugate(const Quat& q) { return {-q.x, -q.y, -q.z, q.w}; }
inline double Norm(const Quat& q) { return std::sqrt(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w); }
inline Quat Normalized(const Quat& q) {
    const double n = Norm(q);
    return n > 0 ? Quat{q.x / n, q.y / n, q.z / n, q.w / n} : Quat{};
}
// Rotates v by the unit quaternion q.
inline Vec3 Rotate(const Quat& q, const Vec3& v) {
    const Vec3 u{q.x, q.y, q.z};
    const Vec3 t = Cross(u, v) * 2.0;
    return v + t * q.w + Cross(u, t);
}
inline Quat AxisAngle(const Vec3& axis, double radians) {
    const Vec3 a = Normalized(axis);
    const double s = std::sin(radians / 2);
    return {a.x * s, a.y * s, a.z * s, std::cos(radians / 2)};
}
// The shortest rotation that turns direction `from` onto direction `to` (both non-zero).
inline Quat FromTo(const Vec3& from, const Vec3& to) {
    const Vec3 a = Normalized(from), b = Normalized(to);
    const double d = Dot(a, b);
    if (d < -0.999999) {  // opposite: any axis perpendicular to a
        Vec3 axis = Cross(Vec3{1, 0, 0}, a);
        if (Length(axis) < 1e-6) axis = Cross(Vec3{0, 1, 0}, a);
        return AxisAngle(axis, 3.14159265358979323846);
    }
    const Vec3 c = Cross(a, b);
    return Normalized(Quat{c.x, c.y, c.z, 1.0 + d});
}
// Angle in radians between two rotations (0..pi), sign of q ignored.
inline double AngleBetween(const Quat& a, const Quat& b) {
    const double d = std::fabs(a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w);
    return 2.0 * std::acos(d > 1.0 ? 1.0 : d);
}

}  // namespace animgen
