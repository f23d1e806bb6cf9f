using System.Buffers.Binary;
using System.IO.Compression;

namespace MMEureka.Display;

/// <summary>A PNG file that cannot be decoded; the message names the source and the problem.</summary>
public sealed class PngFormatException(string message) : Exception(message);

/// <summary>
/// PNG encoder and decoder over <see cref="ZLibStream"/>: 8-bit grey, RGB and RGBA, non-interlaced. Enough for
/// the generated MiniK12 images and notebook figures; no third-party imaging library is on the feed.
/// </summary>
public static class Png
{
    static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes an image as PNG bytes (adaptive per-row filter, best zlib compression).</summary>
    public static byte[] Encode(RasterImage image)
    {
        image.Validate();
        int stride = image.Width * image.Channels, bpp = image.Channels;
        var raw = new byte[(stride + 1) * image.Height];
        var zeros = new byte[stride];
        var candidate = new byte[stride];
        for (int y = 0; y < image.Height; y++)
        {
            ReadOnlySpan<byte> row = image.Pixels.AsSpan(y * stride, stride);
            ReadOnlySpan<byte> prev = y > 0 ? image.Pixels.AsSpan((y - 1) * stride, stride) : zeros;
            // Pick the filter with the smallest sum of absolute (signed) residuals: the usual libpng heuristic.
            long best = long.MaxValue;
            for (int filter = 0; filter <= 4; filter++)
            {
                FilterRow(filter, row, prev, bpp, candidate);
                long cost = 0;
                foreach (byte v in candidate) cost += v < 128 ? v : 256 - v;
                if (cost < best)
                {
                    best = cost;
                    int o = y * (stride + 1);
                    raw[o] = (byte)filter;
                    candidate.CopyTo(raw, o + 1);
                }
            }
        }

        using var output = new MemoryStream();
        output.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = 8;
        ihdr[9] = image.Channels switch { 1 => 0, 3 => 2, _ => 6 };
        WriteChunk(output, "IHDR", ihdr);
        using (var compressed = new MemoryStream())
        {
            using (var z = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true)) z.Write(raw);
            WriteChunk(output, "IDAT", compressed.ToArray());
        }
        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    /// <summary>Writes an image to a PNG file atomically (temporary name, then rename).</summary>
    public static void Save(string path, RasterImage image)
    {
        var bytes = Encode(image);
        var tmp = path + ".tmp";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Reads a PNG file; errors name the file.</summary>
    public static RasterImage Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image not found: {path}", path);
        return Decode(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes PNG bytes (8-bit grey, grey+alpha, RGB, RGBA; non-interlaced). Grey+alpha becomes RGBA.</summary>
    public static RasterImage Decode(ReadOnlySpan<byte> png, string source = "<bytes>")
    {
        if (png.Length < 8 || !png[..8].SequenceEqual(Signature)) throw new PngFormatException($"{source}: not a PNG file (bad signature)");
        int pos = 8, width = 0, height = 0, colorType = -1;
        using var idat = new MemoryStream();
        bool ended = false;
        while (!ended)
        {
            if (pos + 12 > png.Length) throw new PngFormatException($"{source}: truncated chunk at byte {pos}");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(png[pos..]);
            if (length > png.Length - pos - 12) throw new PngFormatException($"{source}: chunk at byte {pos} claims {length} bytes, beyond the end of the file");
            var typeAndData = png.Slice(pos + 4, 4 + (int)length);
            string type = System.Text.Encoding.ASCII.GetString(typeAndData[..4]);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png[(pos + 8 + (int)length)..]);
            if (crc != Crc32(typeAndData)) throw new PngFormatException($"{source}: CRC mismatch in chunk {type} at byte {pos}");
            var data = typeAndData[4..];
            switch (type)
            {
                case "IHDR":
                    if (data.Length != 13) throw new PngFormatException($"{source}: IHDR has {data.Length} bytes, expected 13");
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    colorType = data[9];
                    if (width <= 0 || height <= 0 || (long)width * height > 1 << 26) throw new PngFormatException($"{source}: unsupported size {width}x{height}");
                    if (data[8] != 8) throw new PngFormatException($"{source}: bit depth {data[8]} not supported (only 8)");
                    if (colorType is not (0 or 2 or 4 or 6)) throw new PngFormatException($"{source}: colour type {colorType} not supported (grey, grey+alpha, RGB, RGBA)");
                    if (data[12] != 0) throw new PngFormatException($"{source}: interlaced PNG not supported");
                    break;
                case "IDAT": idat.Write(data); break;
                case "IEND": ended = true; break;
            }
            pos += 12 + (int)length;
        }
        if (colorType < 0) throw new PngFormatException($"{source}: missing IHDR chunk");
        int channels = colorType switch { 0 => 1, 2 => 3, 4 => 2, _ => 4 };
        int stride = width * channels;
        var raw = new byte[(stride + 1) * height];
        idat.Position = 0;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            int read = 0, n;
            while (read < raw.Length && (n = z.Read(raw, read, raw.Length - read)) > 0) read += n;
            if (read != raw.Length) throw new PngFormatException($"{source}: image data is {read} bytes, expected {raw.Length}");
        }
        catch (InvalidDataException e) { throw new PngFormatException($"{source}: corrupt image data ({e.Message})"); }

        var pixels = new byte[stride * height];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[y * (stride + 1)];
            if (filter > 4) throw new PngFormatException($"{source}: unknown filter {filter} on row {y}");
            for (int i = 0; i < stride; i++)
            {
                int a = i >= channels ? pixels[y * stride + i - channels] : 0;
                int b = y > 0 ? pixels[(y - 1) * stride + i] : 0;
                int c = i >= channels && y > 0 ? pixels[(y - 1) * stride + i - channels] : 0;
                pixels[y * stride + i] = (byte)(raw[y * (stride + 1) + 1 + i] + Predict(filter, a, b, c));
            }
        }
        if (channels == 2)
        {
            var rgba = new byte[width * height * 4];
            for (int i = 0; i < width * height; i++)
            {
                rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = pixels[i * 2];
                rgba[i * 4 + 3] = pixels[i * 2 + 1];
            }
            return new RasterImage(width, height, 4, rgba);
        }
        return new RasterImage(width, height, channels, pixels);
    }

    /// <summary>A data URI for HTML: <c>data:image/png;base64,…</c>.</summary>
    public static string ToDataUri(RasterImage image) => "data:image/png;base64," + Convert.ToBase64String(Encode(image));

    // One row through one of PNG's filters; a separate loop per filter keeps the hot path branch-free.
    static void FilterRow(int filter, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prev, int bpp, Span<byte> output)
    {
        int n = row.Length;
        switch (filter)
        {
            case 0: row.CopyTo(output); break;
            case 1:
                row[..bpp].CopyTo(output);
                for (int i = bpp; i < n; i++) output[i] = (byte)(row[i] - row[i - bpp]);
                break;
            case 2:
                for (int i = 0; i < n; i++) output[i] = (byte)(row[i] - prev[i]);
                break;
            case 3:
                for (int i = 0; i < bpp; i++) output[i] = (byte)(row[i] - (prev[i] >> 1));
                for (int i = bpp; i < n; i++) output[i] = (byte)(row[i] - ((row[i - bpp] + prev[i]) >> 1));
                break;
            default:
                for (int i = 0; i < bpp; i++) output[i] = (byte)(row[i] - prev[i]);
                for (int i = bpp; i < n; i++) output[i] = (byte)(row[i] - Paeth(row[i - bpp], prev[i], prev[i - bpp]));
                break;
        }
    }

    // PNG's five predictors (spec section 9.2): left a, above b, upper-left c.
    static int Predict(int filter, int a, int b, int c) => filter switch
    {
        0 => 0,
        1 => a,
        2 => b,
        3 => (a + b) >> 1,
        _ => Paeth(a, b, c),
    };

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> buf = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buf, data.Length);
        s.Write(buf);
        var typeAndData = new byte[4 + data.Length];
        System.Text.Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData.AsSpan(4));
        s.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(buf, Crc32(typeAndData));
        s.Write(buf);
    }

    static readonly uint[] CrcTable = BuildCrcTable();

    static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    /// <summary>CRC-32 as PNG (and zip) define it.</summary>
    internal static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in data) c = CrcTable[(c ^ b) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}
