using System.Buffers.Binary;
using System.Text;

namespace MMEureka.Torch.Tests;

public class SafeTensorsTests
{
    /// <summary>Builds a file by hand: length prefix, header text as given, then <paramref name="dataBytes"/> bytes 0, 1, 2, ...</summary>
    static byte[] Make(string header, int dataBytes, ulong? declaredLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        for (int i = 0; i < dataBytes; i++) bytes[8 + json.Length + i] = (byte)i;
        return bytes;
    }

    [Fact]
    public void Round_trip_keeps_names_shapes_values_and_metadata()
    {
        var rng = new Random(3);
        var weights = Enumerable.Range(0, 12).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var tensors = new[]
        {
            new SafeTensorEntry("text.lm_head.weight", [3, 4], weights),
            new SafeTensorEntry("scale", [], [float.Epsilon]),
            new SafeTensorEntry("empty", [0, 3], []),
            new SafeTensorEntry("bias", [2], [float.NegativeInfinity, -0f]),
        };
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["step"] = "42", ["note"] = "ünïcode \"quoted\"" };
        var dir = Directory.CreateTempSubdirectory("safetensors-test-");
        try
        {
            string path = Path.Combine(dir.FullName, "model.safetensors");
            SafeTensors.Save(path, tensors, metadata);
            Assert.Equal(new[] { "model.safetensors" }, Directory.GetFiles(dir.FullName).Select(Path.GetFileName));

            var file = SafeTensors.Load(path);
            Assert.Equal(new[] { "bias", "empty", "scale", "text.lm_head.weight" }, file.Tensors.Select(t => t.Name));
            foreach (var t in tensors)
            {
                var back = file[t.Name];
                Assert.Equal(t.Shape, back.Shape);
                Assert.Equal(t.Data.Select(BitConverter.SingleToInt32Bits), back.Data.Select(BitConverter.SingleToInt32Bits));
            }
            Assert.Equal(metadata.OrderBy(p => p.Key), file.Metadata.OrderBy(p => p.Key));
            Assert.False(file.TryGet("missing", out _));
            var missing = Assert.Throws<KeyNotFoundException>(() => file["missing"]);
            Assert.Contains("model.safetensors", missing.Message);
            Assert.Equal(SafeTensors.Serialize(tensors, metadata), File.ReadAllBytes(path));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Serialized_bytes_match_the_format_exactly()
    {
        var bytes = SafeTensors.Serialize(
            [new SafeTensorEntry("b", [2], [1f, -2f]), new SafeTensorEntry("a", [], [0.5f])],
            new Dictionary<string, string> { ["format"] = "pt" });
        const string header = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}      "; // 138 chars + 6 spaces = 144
        var expected = new List<byte> { 144, 0, 0, 0, 0, 0, 0, 0 };
        expected.AddRange(Encoding.ASCII.GetBytes(header));
        expected.AddRange(new byte[] { 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0 });
        Assert.Equal(expected.ToArray(), bytes);
    }

    [Fact]
    public void F16_and_BF16_are_upcast_to_float()
    {
        ushort[] f16 = [0x3C00, 0xC000, 0x3555, 0x7C00, 0x0001];
        ushort[] bf16 = [0x3F80, 0xC040, 0x4049, 0xFF80];
        string header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
            + "\"g\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[10,18]}}";
        var bytes = Make(header, 18);
        int data = bytes.Length - 18;
        for (int i = 0; i < 5; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(data + 2 * i), f16[i]);
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(data + 10 + 2 * i), bf16[i]);

        var file = SafeTensors.Parse(bytes, "halves");
        Assert.Equal(new[] { 1f, -2f, 0.333251953125f, float.PositiveInfinity, 5.9604644775390625e-08f }, file["h"].Data);
        Assert.Equal(new[] { 1f, -3f, 3.140625f, float.NegativeInfinity }, file["g"].Data);
        Assert.Equal(new long[] { 2, 2 }, file["g"].Shape);
    }

    const string W = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    public static TheoryData<string, byte[], string> Malformed() => new()
    {
        { "short file", new byte[5], "shorter than the 8-byte header length" },
        { "header beyond file", Make("{}", 0, declaredLength: 40), "header length 40 goes beyond the end of the file" },
        { "absurd header", Make("{}", 0, declaredLength: ulong.MaxValue), "absurdly large" },
        { "invalid json", Make("{\"w\":", 0), "header is not valid JSON" },
        { "header not object", Make("[1,2]", 0), "header must be a JSON object" },
        { "entry not object", Make("{\"w\":3}", 0), "tensor 'w': entry must be an object" },
        { "unknown dtype", Make("{\"w\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "tensor 'w': unknown dtype 'F33'" },
        { "unsupported dtype", Make("{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8), "dtype F64 is not supported" },
        { "negative dim", Make("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8), "tensor 'w': shape [-2] has a negative dimension" },
        { "fractional dim", Make("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8), "shape[0] is not an integer" },
        { "missing field", Make("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8), "tensor 'w': missing field 'shape'" },
        { "duplicate field", Make("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "tensor 'w': duplicate field 'dtype'" },
        { "offsets arity", Make("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8), "data_offsets must be [begin, end]" },
        { "end before begin", Make("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8), "data_offsets [8, 0] end before begin" },
        { "offsets out of range", Make("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 8), "go beyond the data buffer (8 bytes)" },
        { "byte count mismatch", Make("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "cover 8 bytes but shape [3] of F32 needs 12" },
        { "overlap", Make("{" + W + ",\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "overlap tensor 'w'" },
        { "gap", Make("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8), "gap of 4 bytes" },
        { "trailing bytes", Make("{" + W + "}", 12), "data buffer is 12 bytes but the tensors cover 8" },
        { "duplicate names", Make("{" + W + "," + W + "}", 8), "duplicate entry 'w'" },
        { "metadata not object", Make("{\"__metadata__\":[\"a\"]}", 0), "__metadata__ must be an object" },
        { "metadata non-string", Make("{\"__metadata__\":{\"step\":3}}", 0), "__metadata__ value 'step' must be a string" },
        { "metadata duplicate", Make("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0), "duplicate key 'a' in __metadata__" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_files_are_rejected_with_a_clear_message(string name, byte[] bytes, string expected)
    {
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Parse(bytes, "bad.safetensors"));
        Assert.StartsWith("bad.safetensors: ", ex.Message);
        Assert.True(ex.Message.Contains(expected), $"{name}: message '{ex.Message}' lacks '{expected}'");
    }

    [Fact]
    public void Well_formed_hand_written_file_parses()
    {
        // The control for the malformed cases: the same builder with consistent offsets loads.
        var file = SafeTensors.Parse(Make("{" + W + ",\"__metadata__\":{\"k\":\"v\"}}  ", 8), "ok");
        Assert.Equal(new long[] { 2 }, file["w"].Shape);
        Assert.Equal(BitConverter.ToSingle([0, 1, 2, 3]), file["w"].Data[0]);
        Assert.Equal("v", file.Metadata["k"]);
    }

    [Fact]
    public void Save_rejects_inconsistent_tensors_and_writes_nothing()
    {
        var dir = Directory.CreateTempSubdirectory("safetensors-test-");
        try
        {
            string path = Path.Combine(dir.FullName, "x.safetensors");
            var ex = Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [new SafeTensorEntry("w", [2, 2], [1f, 2f, 3f])]));
            Assert.Contains("tensor 'w': shape [2, 2] holds 4 values but Data has 3", ex.Message);
            Assert.Throws<ArgumentException>(() => SafeTensors.Save(path, [new("w", [1], [1f]), new("w", [1], [2f])]));
            Assert.Empty(Directory.GetFiles(dir.FullName));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
