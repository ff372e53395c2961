// A microphone level meter: an analyser on the track, drawn into a bar's width once a frame.

export function levelMeter(fill) {
  let context = null;
  let source = null;
  let frame = 0;
  const samples = new Uint8Array(512);
  let analyser = null;

  function draw() {
    analyser.getByteTimeDomainData(samples);
    let sum = 0;
    for (const value of samples) sum += ((value - 128) / 128) ** 2;
    const rms = Math.sqrt(sum / samples.length);
    // Speech sits around 0.02-0.2 RMS: a square-root curve makes quiet voices visible.
    const level = Math.min(1, Math.sqrt(rms * 4));
    fill.style.transform = `scaleX(${level.toFixed(3)})`;
    frame = requestAnimationFrame(draw);
  }

  function stop() {
    cancelAnimationFrame(frame);
    if (source) source.disconnect();
    source = null;
    fill.style.transform = "scaleX(0)";
  }

  return {
    /** Follow this microphone track (or none). */
    follow(track) {
      stop();
      if (!track) return;
      context = context || new AudioContext();
      // Created before any click, the context starts suspended: resume on the first gesture.
      if (context.state === "suspended") {
        context.resume().catch(() => {});
        document.addEventListener("pointerdown", () => context.resume().catch(() => {}), { once: true });
      }
      analyser = context.createAnalyser();
      analyser.fftSize = samples.length;
      source = context.createMediaStreamSource(new MediaStream([track]));
      source.connect(analyser);
      draw();
    },
    stop,
    close() {
      stop();
      context?.close().catch(() => {});
      context = null;
    },
  };
}
