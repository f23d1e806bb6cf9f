namespace MMEureka.Display;

/// <summary>
/// An 8-bit image with interleaved channels in row-major order (pixel (x, y), channel c at
/// <c>(y * Width + x) * Channels + c</c>). Channels: 1 grey, 3 RGB, 4 RGBA.
/// </summary>
public sealed record RasterImage(int Width, int Height, int Channels, byte[] Pixels)
{
    /// <summary>A blank image filled with one colour (RGB).</summary>
    public static RasterImage Filled(int width, int height, byte r, byte g, byte b)
    {
        var pixels = new byte[width * height * 3];
        for (int i = 0; i < pixels.Length; i += 3) { pixels[i] = r; pixels[i + 1] = g; pixels[i + 2] = b; }
        return new RasterImage(width, height, 3, pixels);
    }

    /// <summary>Channel-first floats in [0, 1] (the policy's input layout: c * H * W + y * W + x), RGB only.</summary>
    public float[] ToChwFloats()
    {
        if (Channels != 3) throw new InvalidOperationException($"expected an RGB image, got {Channels} channels");
        var result = new float[3 * Width * Height];
        int plane = Width * Height;
        for (int i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++)
                result[c * plane + i] = Pixels[i * 3 + c] / 255f;
        return result;
    }

    /// <summary>Validates that the pixel buffer matches the declared size.</summary>
    public RasterImage Validate()
    {
        if (Width <= 0 || Height <= 0) throw new ArgumentException($"image size {Width}x{Height} must be positive");
        if (Channels is not (1 or 3 or 4)) throw new ArgumentException($"unsupported channel count {Channels}");
        if (Pixels.Length != Width * Height * Channels)
            throw new ArgumentException($"pixel buffer has {Pixels.Length} bytes, expected {Width * Height * Channels}");
        return this;
    }
}
