// placeholder: replaced by the panel's module
import { h, replace } from "../dom.js";

export default {
  title: "presets",
  render(ctx) {
    replace(ctx.main, h("h1", {}, "presets"));
  },
};
