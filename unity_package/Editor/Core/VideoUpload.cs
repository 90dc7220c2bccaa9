// Upload framing for UploadVideo: a header (name, size, lower-case hex SHA-256), then 1 MiB chunks, well
// under gRPC's default 4 MiB message limit.
using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace AnimGen.Core
{
    public static class VideoUpload
    {
        public const int ChunkBytes = 1 << 20;

        static readonly string[] videoExtensions = { ".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".mts", ".m2ts", ".3gp", ".wmv" };

        public static bool LooksLikeVideo(string path)
        {
            string ext = Path.GetExtension(path ?? "").ToLowerInvariant();
            return Array.IndexOf(videoExtensions, ext) >= 0;
        }

        public static string Sha256Hex(Stream stream)
        {
            using (var sha = SHA256.Create())
            {
                byte[] hash = sha.ComputeHash(stream);
                var b = new StringBuilder(hash.Length * 2);
                foreach (byte x in hash) b.Append(x.ToString("x2"));
                return b.ToString();
            }
        }

        public static string Sha256Hex(string path)
        {
            using (var f = File.OpenRead(path)) return Sha256Hex(f);
        }

        /// <summary>(offset, length) of each chunk of a file of `size` bytes.</summary>
        public static List<KeyValuePair<long, int>> Chunks(long size, int chunkBytes = ChunkBytes)
        {
            if (size < 0) throw new ArgumentOutOfRangeException("size");
            if (chunkBytes <= 0) throw new ArgumentOutOfRangeException("chunkBytes");
            var list = new List<KeyValuePair<long, int>>();
            for (long at = 0; at < size; at += chunkBytes)
                list.Add(new KeyValuePair<long, int>(at, (int)Math.Min(chunkBytes, size - at)));
            return list;
        }

        /// <summary>Null when the file can be uploaded, else a one-line reason naming it.</summary>
        public static string Check(string path, long maxBytes)
        {
            if (string.IsNullOrEmpty(path)) return "Pick a video first.";
            if (!File.Exists(path)) return "Video not found: " + path;
            if (!LooksLikeVideo(path)) return "Not a video file (" + Path.GetExtension(path) + "): " + path;
            long size = new FileInfo(path).Length;
            if (size == 0) return "The video is empty: " + path;
            if (maxBytes > 0 && size > maxBytes)
                return "The video is " + (size >> 20) + " MiB, over the server's limit of " + (maxBytes >> 20) + " MiB: " + path;
            return null;
        }
    }
}
