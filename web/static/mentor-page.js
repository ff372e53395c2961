// A mentor's public page: the shareable link goes to the clipboard (or is selected when it can't).
import { toast } from "./app.js";

const share = document.getElementById("share-mentor");
share?.addEventListener("click", async () => {
  const url = share.dataset.url;
  try {
    await navigator.clipboard.writeText(url);
    toast("Link copied.", "success");
  } catch {
    const link = document.getElementById("share-url");
    const range = document.createRange();
    range.selectNodeContents(link);
    window.getSelection()?.removeAllRanges();
    window.getSelection()?.addRange(range);
    toast("Select and copy the link below.");
  }
});
