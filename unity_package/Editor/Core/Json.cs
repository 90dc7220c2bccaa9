// A small JSON reader and writer: Unity's JsonUtility reads neither nested arrays nor maps, which the
// HumanoidClip JSON, the persisted job state and the batch summary use. Values: Dictionary<string, object>,
// List<object>, double, string, bool, null.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace AnimGen.Core
{
    public static class Json
    {
        public static object Parse(string text)
        {
            if (text == null) throw new ArgumentNullException("text");
            var r = new Reader(text);
            r.SkipSpace();
            object v = r.Value();
            r.SkipSpace();
            if (r.Pos != text.Length) throw r.Error("unexpected text after the value");
            return v;
        }

        sealed class Reader
        {
            readonly string s;
            public int Pos;

            public Reader(string s) { this.s = s; }

            public FormatException Error(string what)
            {
                return new FormatException("invalid JSON at character " + Pos + ": " + what);
            }

            public void SkipSpace()
            {
                while (Pos < s.Length && (s[Pos] == ' ' || s[Pos] == '\t' || s[Pos] == '\n' || s[Pos] == '\r')) Pos++;
            }

            void Expect(char c)
            {
                if (Pos >= s.Length || s[Pos] != c) throw Error("expected '" + c + "'");
                Pos++;
            }

            public object Value()
            {
                if (Pos >= s.Length) throw Error("unexpected end");
                char c = s[Pos];
                if (c == '{') return Object();
                if (c == '[') return Array();
                if (c == '"') return String();
                if (c == 't') { Word("true"); return true; }
                if (c == 'f') { Word("false"); return false; }
                if (c == 'n') { Word("null"); return null; }
                return Number();
            }

            void Word(string w)
            {
                if (string.CompareOrdinal(s, Pos, w, 0, w.Length) != 0) throw Error("expected " + w);
                Pos += w.Length;
            }

            Dictionary<string, object> Object()
            {
                var d = new Dictionary<string, object>(StringComparer.Ordinal);
                Expect('{');
                SkipSpace();
                if (Pos < s.Length && s[Pos] == '}') { Pos++; return d; }
                while (true)
                {
                    SkipSpace();
                    string key = String();
                    SkipSpace();
                    Expect(':');
                    SkipSpace();
                    d[key] = Value();
                    SkipSpace();
                    if (Pos < s.Length && s[Pos] == ',') { Pos++; continue; }
                    Expect('}');
                    return d;
                }
            }

            List<object> Array()
            {
                var a = new List<object>();
                Expect('[');
                SkipSpace();
                if (Pos < s.Length && s[Pos] == ']') { Pos++; return a; }
                while (true)
                {
                    SkipSpace();
                    a.Add(Value());
                    SkipSpace();
                    if (Pos < s.Length && s[Pos] == ',') { Pos++; continue; }
                    Expect(']');
                    return a;
                }
            }

            string String()
            {
                Expect('"');
                var b = new StringBuilder();
                while (true)
                {
                    if (Pos >= s.Length) throw Error("unterminated string");
                    char c = s[Pos++];
                    if (c == '"') return b.ToString();
                    if (c != '\\') { b.Append(c); continue; }
                    if (Pos >= s.Length) throw Error("unterminated escape");
                    char e = s[Pos++];
                    switch (e)
                    {
                        case '"': b.Append('"'); break;
                        case '\\': b.Append('\\'); break;
                        case '/': b.Append('/'); break;
                        case 'b': b.Append('\b'); break;
                        case 'f': b.Append('\f'); break;
                        case 'n': b.Append('\n'); break;
                        case 'r': b.Append('\r'); break;
                        case 't': b.Append('\t'); break;
                        case 'u':
                            if (Pos + 4 > s.Length) throw Error("short \\u escape");
                            b.Append((char)int.Parse(s.Substring(Pos, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                            Pos += 4;
                            break;
                        default: throw Error("unknown escape \\" + e);
                    }
                }
            }

            object Number()
            {
                int start = Pos;
                while (Pos < s.Length && "+-0123456789.eE".IndexOf(s[Pos]) >= 0) Pos++;
                if (start == Pos) throw Error("unexpected character '" + s[Pos] + "'");
                double v;
                string text = s.Substring(start, Pos - start);
                // Python's json writes non-finite floats as NaN / Infinity; a HumanoidClip never holds them.
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out v))
                    throw Error("bad number " + text);
                return v;
            }
        }

        /// <summary>JSON for the value types Parse returns (plus float, int, long, string[], and a
        /// List&lt;KeyValuePair&lt;string, object&gt;&gt; written as an object in its order): compact, or indented one
        /// space a level as Python's json.dumps(indent=1) writes the CLI's --summary, for a file a person may read.
        /// A dictionary's keys are sorted, so that equal values write equal text.</summary>
        public static string Write(object value, bool indented = false)
        {
            var b = new StringBuilder();
            WriteValue(b, value, indented ? 0 : -1);
            return b.ToString();
        }

        /// <summary>depth: the value's nesting level when indented, -1 when compact.</summary>
        static void WriteValue(StringBuilder b, object v, int depth)
        {
            if (v == null) { b.Append("null"); return; }
            if (v is string) { WriteString(b, (string)v); return; }
            if (v is bool) { b.Append((bool)v ? "true" : "false"); return; }
            // G9 / R round-trip a float / double exactly.
            if (v is float) { b.Append(Floating(((float)v).ToString("G9", CultureInfo.InvariantCulture))); return; }
            if (v is double) { b.Append(Floating(((double)v).ToString("R", CultureInfo.InvariantCulture))); return; }
            if (v is int || v is long) { b.Append(Convert.ToString(v, CultureInfo.InvariantCulture)); return; }
            var dict = v as IDictionary<string, object>;
            if (dict != null)
            {
                var keys = new List<string>(dict.Keys);
                keys.Sort(StringComparer.Ordinal);
                WriteObject(b, keys.Select(k => new KeyValuePair<string, object>(k, dict[k])), depth);
                return;
            }
            var pairs = v as IList<KeyValuePair<string, object>>;
            if (pairs != null) { WriteObject(b, pairs, depth); return; } // an object in the order given
            int inner = depth < 0 ? -1 : depth + 1;
            var list = v as System.Collections.IEnumerable;
            if (list != null)
            {
                b.Append('[');
                bool first = true;
                foreach (object item in list)
                {
                    if (!first) b.Append(',');
                    first = false;
                    NewLine(b, inner);
                    WriteValue(b, item, inner);
                }
                if (!first) NewLine(b, depth);
                b.Append(']');
                return;
            }
            throw new ArgumentException("Json.Write cannot write a " + v.GetType().Name);
        }

        /// <summary>A whole number written as a float keeps a ".0" ("24.0", not "24"), as Python's json and the Unreal
        /// plugin write one, so that a reader that tells floats from ints reads the same type from each tool. An exponent
        /// ("1E+20") or NaN is left as it is.</summary>
        static string Floating(string text)
        {
            foreach (char c in text)
                if (c != '-' && (c < '0' || c > '9')) return text;
            return text + ".0";
        }

        static void WriteObject(StringBuilder b, IEnumerable<KeyValuePair<string, object>> members, int depth)
        {
            int inner = depth < 0 ? -1 : depth + 1;
            b.Append('{');
            bool first = true;
            foreach (KeyValuePair<string, object> m in members)
            {
                if (!first) b.Append(',');
                first = false;
                NewLine(b, inner);
                WriteString(b, m.Key);
                b.Append(depth < 0 ? ":" : ": ");
                WriteValue(b, m.Value, inner);
            }
            if (!first) NewLine(b, depth);
            b.Append('}');
        }

        static void NewLine(StringBuilder b, int depth)
        {
            if (depth >= 0) b.Append('\n').Append(' ', depth);
        }

        static void WriteString(StringBuilder b, string s)
        {
            b.Append('"');
            foreach (char c in s)
            {
                if (c == '"') b.Append("\\\"");
                else if (c == '\\') b.Append("\\\\");
                else if (c == '\n') b.Append("\\n");
                else if (c == '\r') b.Append("\\r");
                else if (c == '\t') b.Append("\\t");
                else if (c < 0x20) b.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                else b.Append(c);
            }
            b.Append('"');
        }
    }
}
