// placeholder: replaced by the panel's module
import { h, replace } from "../dom.js";

export default {
  title: "files",
  render(ctx) {
    replace(ctx.main, h("h1", {}, "files"));
  },
};
