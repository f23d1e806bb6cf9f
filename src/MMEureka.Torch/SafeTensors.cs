using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MMEureka.Torch;

/// <summary>One named tensor as stored in a safetensors file: shape and row-major float32 values.</summary>
public sealed record SafeTensorEntry(string Name, long[] Shape, float[] Data);

/// <summary>A safetensors file that does not follow the format; the message names the file and the offending field.</summary>
public sealed class SafeTensorsFormatException(string fileName, string problem)
    : FormatException($"{fileName}: {problem}")
{
    /// <summary>The file (or source name) that failed to load.</summary>
    public string FileName { get; } = fileName;
}

/// <summary>The tensors and metadata read from one safetensors file.</summary>
public sealed class SafeTensorFile
{
    readonly Dictionary<string, SafeTensorEntry> byName;

    internal SafeTensorFile(string source, List<SafeTensorEntry> tensors, Dictionary<string, string> metadata)
    {
        Source = source;
        Tensors = tensors;
        Metadata = metadata;
        byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Where the tensors came from (the path, for <see cref="SafeTensors.Load"/>).</summary>
    public string Source { get; }

    /// <summary>Tensors in header order.</summary>
    public IReadOnlyList<SafeTensorEntry> Tensors { get; }

    /// <summary>The optional <c>__metadata__</c> string map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor with this name; throws <see cref="KeyNotFoundException"/> naming the file when absent.</summary>
    public SafeTensorEntry this[string name] => byName.TryGetValue(name, out var t)
        ? t : throw new KeyNotFoundException($"{Source}: no tensor named '{name}'");

    /// <summary>Looks a tensor up by name.</summary>
    public bool TryGet(string name, [MaybeNullWhen(false)] out SafeTensorEntry entry) => byName.TryGetValue(name, out entry);
}

/// <summary>
/// Reads and writes the safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
/// N bytes of UTF-8 JSON mapping names to {dtype, shape, data_offsets}, then the raw little-endian data buffer.
/// Writes F32 only; reads F32 and upcasts F16 and BF16. Every offset is checked before any byte is read.
/// </summary>
public static class SafeTensors
{
    const string MetadataKey = "__metadata__";
    // The reference implementation refuses headers above 100 MB; a bigger length means a corrupt or hostile file.
    const long MaxHeaderBytes = 100_000_000;

    static readonly string[] OtherKnownDtypes =
        ["BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F64", "F8_E4M3", "F8_E5M2", "C64"];

    /// <summary>Writes the tensors as F32, sorted by name, to a temporary file that is then renamed to <paramref name="path"/>.</summary>
    public static void Save(string path, IEnumerable<SafeTensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (header, sorted) = BuildHeader(tensors, metadata);
        string full = Path.GetFullPath(path);
        string temp = full + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                WriteBody(stream, header, sorted);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>The bytes <see cref="Save"/> would write.</summary>
    public static byte[] Serialize(IEnumerable<SafeTensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var (header, sorted) = BuildHeader(tensors, metadata);
        var stream = new MemoryStream();
        WriteBody(stream, header, sorted);
        return stream.ToArray();
    }

    /// <summary>Reads a safetensors file; see <see cref="Parse"/>.</summary>
    public static SafeTensorFile Load(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>
    /// Parses safetensors bytes. Throws <see cref="SafeTensorsFormatException"/> naming <paramref name="sourceName"/>
    /// and the field when the header is malformed or the offsets do not tile the data buffer exactly.
    /// </summary>
    public static SafeTensorFile Parse(ReadOnlySpan<byte> bytes, string sourceName)
    {
        SafeTensorsFormatException Bad(string problem) => new(sourceName, problem);

        if (bytes.Length < 8)
            throw Bad($"file is {bytes.Length} bytes, shorter than the 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > MaxHeaderBytes)
            throw Bad($"header length {headerLength} is absurdly large (limit {MaxHeaderBytes} bytes)");
        if ((long)headerLength > bytes.Length - 8)
            throw Bad($"header length {headerLength} goes beyond the end of the file ({bytes.Length} bytes)");
        var buffer = bytes[(8 + (int)headerLength)..];

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes.Slice(8, (int)headerLength).ToArray());
        }
        catch (JsonException e)
        {
            throw Bad($"header is not valid JSON: {e.Message}");
        }

        var tensors = new List<SafeTensorEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var spans = new List<(string Name, long Begin, long End)>();
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad($"header must be a JSON object, found {root.ValueKind}");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            // JsonDocument keeps repeated keys, so duplicates are caught here rather than silently shadowed.
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw Bad($"duplicate entry '{property.Name}' in header");
                if (property.Name == MetadataKey)
                {
                    ReadMetadata(property.Value, metadata, Bad);
                    continue;
                }
                var (dtype, shape, begin, end) = ReadTensorInfo(property.Name, property.Value, Bad);
                int size = dtype == "F32" ? 4 : 2;
                long count = 1;
                try
                {
                    foreach (long d in shape) count = checked(count * d);
                    checked { _ = count * size; }
                }
                catch (OverflowException)
                {
                    throw Bad($"tensor '{property.Name}': shape [{string.Join(", ", shape)}] overflows the element count");
                }
                if (end < begin)
                    throw Bad($"tensor '{property.Name}': data_offsets [{begin}, {end}] end before begin");
                if (end > buffer.Length)
                    throw Bad($"tensor '{property.Name}': data_offsets [{begin}, {end}] go beyond the data buffer ({buffer.Length} bytes)");
                if (end - begin != count * size)
                    throw Bad($"tensor '{property.Name}': data_offsets [{begin}, {end}] cover {end - begin} bytes but shape "
                        + $"[{string.Join(", ", shape)}] of {dtype} needs {count * size}");
                if (count > Array.MaxLength)
                    throw Bad($"tensor '{property.Name}': {count} elements exceed the largest float array");
                tensors.Add(new SafeTensorEntry(property.Name, shape, Decode(buffer.Slice((int)begin, (int)(end - begin)), dtype)));
                spans.Add((property.Name, begin, end));
            }
        }

        // The tensors must tile the buffer: no overlap, no gap, nothing left over (as the reference reader demands).
        spans.Sort((x, y) => x.Begin != y.Begin ? x.Begin.CompareTo(y.Begin) : x.End.CompareTo(y.End));
        long covered = 0;
        string? previous = null;
        foreach (var (name, begin, end) in spans)
        {
            if (begin < covered)
                throw Bad($"tensor '{name}': data_offsets [{begin}, {end}] overlap tensor '{previous}' (which ends at {covered})");
            if (begin > covered)
                throw Bad($"tensor '{name}': data_offsets start at {begin}, leaving a gap of {begin - covered} bytes after {covered}");
            covered = end;
            previous = name;
        }
        if (covered != buffer.Length)
            throw Bad($"data buffer is {buffer.Length} bytes but the tensors cover {covered}");

        return new SafeTensorFile(sourceName, tensors, metadata);
    }

    static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, Func<string, SafeTensorsFormatException> bad)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw bad($"{MetadataKey} must be an object of strings, found {value.ValueKind}");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw bad($"{MetadataKey} value '{item.Name}' must be a string, found {item.Value.ValueKind}");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw bad($"duplicate key '{item.Name}' in {MetadataKey}");
        }
    }

    static (string Dtype, long[] Shape, long Begin, long End) ReadTensorInfo(
        string name, JsonElement info, Func<string, SafeTensorsFormatException> bad)
    {
        if (info.ValueKind != JsonValueKind.Object)
            throw bad($"tensor '{name}': entry must be an object, found {info.ValueKind}");
        JsonElement? dtypeField = null, shapeField = null, offsetsField = null;
        foreach (var field in info.EnumerateObject())
        {
            ref JsonElement? slot = ref dtypeField;
            switch (field.Name)
            {
                case "dtype": slot = ref dtypeField; break;
                case "shape": slot = ref shapeField; break;
                case "data_offsets": slot = ref offsetsField; break;
                default: continue; // unknown fields are tolerated, as in the reference reader
            }
            if (slot != null) throw bad($"tensor '{name}': duplicate field '{field.Name}'");
            slot = field.Value;
        }
        if (dtypeField is not { } dtypeValue) throw bad($"tensor '{name}': missing field 'dtype'");
        if (shapeField is not { } shapeValue) throw bad($"tensor '{name}': missing field 'shape'");
        if (offsetsField is not { } offsetsValue) throw bad($"tensor '{name}': missing field 'data_offsets'");

        if (dtypeValue.ValueKind != JsonValueKind.String)
            throw bad($"tensor '{name}': dtype must be a string, found {dtypeValue.ValueKind}");
        string dtype = dtypeValue.GetString()!;
        if (dtype is not ("F32" or "F16" or "BF16"))
            throw bad(OtherKnownDtypes.Contains(dtype)
                ? $"tensor '{name}': dtype {dtype} is not supported (F32, F16 and BF16 are)"
                : $"tensor '{name}': unknown dtype '{dtype}'");

        long[] shape = ReadIntegers(name, "shape", shapeValue, bad);
        foreach (long d in shape)
            if (d < 0) throw bad($"tensor '{name}': shape [{string.Join(", ", shape)}] has a negative dimension");
        long[] offsets = ReadIntegers(name, "data_offsets", offsetsValue, bad);
        if (offsets.Length != 2)
            throw bad($"tensor '{name}': data_offsets must be [begin, end], found {offsets.Length} numbers");
        if (offsets[0] < 0 || offsets[1] < 0)
            throw bad($"tensor '{name}': data_offsets [{offsets[0]}, {offsets[1]}] are negative");
        return (dtype, shape, offsets[0], offsets[1]);
    }

    static long[] ReadIntegers(string name, string field, JsonElement value, Func<string, SafeTensorsFormatException> bad)
    {
        if (value.ValueKind != JsonValueKind.Array)
            throw bad($"tensor '{name}': {field} must be an array of integers, found {value.ValueKind}");
        var result = new long[value.GetArrayLength()];
        int i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out result[i]))
                throw bad($"tensor '{name}': {field}[{i}] is not an integer ({item.GetRawText()})");
            i++;
        }
        return result;
    }

    static float[] Decode(ReadOnlySpan<byte> raw, string dtype)
    {
        switch (dtype)
        {
            case "F32":
            {
                var values = new float[raw.Length / 4];
                if (BitConverter.IsLittleEndian) raw.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
                else for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(raw[(4 * i)..]);
                return values;
            }
            case "F16":
            {
                var values = new float[raw.Length / 2];
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(raw[(2 * i)..]);
                return values;
            }
            default:
            {
                // BF16 is the top half of an IEEE float32, so widening is a shift.
                var values = new float[raw.Length / 2];
                for (int i = 0; i < values.Length; i++)
                    values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(2 * i)..]) << 16);
                return values;
            }
        }
    }

    static (byte[] Header, List<SafeTensorEntry> Sorted) BuildHeader(
        IEnumerable<SafeTensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var sorted = tensors.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        for (int i = 0; i < sorted.Count; i++)
        {
            var t = sorted[i];
            if (string.IsNullOrEmpty(t.Name) || t.Name == MetadataKey)
                throw new ArgumentException($"tensor name '{t.Name}' is empty or reserved", nameof(tensors));
            if (i > 0 && sorted[i - 1].Name == t.Name)
                throw new ArgumentException($"tensor name '{t.Name}' appears twice", nameof(tensors));
            long count = 1;
            foreach (long d in t.Shape)
            {
                if (d < 0) throw new ArgumentException($"tensor '{t.Name}': negative dimension in shape [{string.Join(", ", t.Shape)}]", nameof(tensors));
                count *= d;
            }
            if (count != t.Data.Length)
                throw new ArgumentException($"tensor '{t.Name}': shape [{string.Join(", ", t.Shape)}] holds {count} values but Data has {t.Data.Length}", nameof(tensors));
        }

        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(p => p.Key, StringComparer.Ordinal))
                    w.WriteString(key, value ?? throw new ArgumentException($"metadata '{key}' is null", nameof(metadata)));
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in sorted)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += 4L * t.Data.Length;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        // Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
        int padded = (int)((json.Length + 7) / 8 * 8);
        while (json.Length < padded) json.WriteByte((byte)' ');
        return (json.ToArray(), sorted);
    }

    static void WriteBody(Stream stream, byte[] header, List<SafeTensorEntry> sorted)
    {
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var t in sorted)
        {
            if (BitConverter.IsLittleEndian)
            {
                stream.Write(MemoryMarshal.AsBytes(t.Data.AsSpan()));
                continue;
            }
            var scratch = new byte[4];
            foreach (float v in t.Data)
            {
                BinaryPrimitives.WriteSingleLittleEndian(scratch, v);
                stream.Write(scratch);
            }
        }
    }
}
